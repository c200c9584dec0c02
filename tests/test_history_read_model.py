"""The history's read model: keyset pagination that stays exact while versions land, diffs, and bad cursors."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from click.testing import CliRunner

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due
from ogp_federation.aggregator.app import create_app
from ogp_federation.cli import cli
from ogp_federation.core.errors import InvalidInputError
from ogp_federation.feed import validate
from ogp_federation.feed.synth import generate_feed

CUT = "13122"
BIG = 834  # commitments: 24 observations each, 20,016 observations in all


def api(runtime: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime.settings, runtime=runtime))
    return httpx.AsyncClient(transport=transport, base_url="http://aggregator.test")


def _next(response: httpx.Response) -> str | None:
    link = response.headers.get("link")
    return link.split(">")[0].lstrip("<") if link else None


def _edited(document: dict[str, Any], sequence: int, width: int) -> tuple[bytes, set[str], set[str], set[str]]:
    """Version ``sequence`` of ``document``: ``width`` observations deleted and changed at each end of the keys,
    and twelve added at each end."""
    observations = sorted(document["observations"], key=lambda o: o["id"])
    deleted = {o["id"] for o in observations[:width] + observations[-width:]}
    changed = {o["id"] for o in observations[2 * width : 3 * width] + observations[-3 * width : -2 * width]}
    kept = [dict(o) for o in document["observations"] if o["id"] not in deleted]
    for observation in kept:
        if observation["id"] in changed:
            observation["value"] = observation["value"] + 1
    monthly = [o["indicator_code"] for o in observations if o["indicator_code"].startswith("IND-")]
    first, last = monthly[0], monthly[-1]  # months are added to monthly indicators only
    added = []
    for code in (first, last):
        for month in range(1, 13):
            added.append(
                {
                    "id": f"{code}-2023-{month:02d}",
                    "indicator_code": code,
                    "period_start": f"2023-{month:02d}-01",
                    "period_end": f"2023-{month:02d}-28",
                    "value": 1.5,
                    "status": "final",
                }
            )
    later = datetime.fromisoformat(document["generated_at"]) + timedelta(minutes=sequence)
    tombstones = [{"entity": "observations", "id": key, "deleted_at": later.isoformat()} for key in sorted(deleted)]
    new = {
        **document,
        "sequence": sequence,
        "generated_at": later.isoformat(),
        "observations": kept + added,
        "tombstones": document.get("tombstones", []) + tombstones,
    }
    body = msgspec.json.encode(new)
    return body, deleted, changed, {a["id"] for a in added}


@pytest.mark.slow
async def test_paging_20000_records_gives_each_once_while_a_version_lands(database_url: str) -> None:
    size = 32 * 1024 * 1024
    async with (
        fake_nodes() as server,
        aggregator(database_url, max_bytes=size, max_decompressed_bytes=size, total_timeout=30.0) as runtime,
    ):
        node = server.add(FakeNode(CUT, commitments=BIG))
        first_document = msgspec.json.decode(node.body)
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        (first,) = (await runtime.scheduler.tick()).results
        assert first.outcome == "accepted"
        before = {o["id"]: o for o in first_document["observations"]}
        assert len(before) >= 20_000

        body, deleted, changed, added = _edited(first_document, 2, width=50)
        assert validate(body, node.body).valid
        seen: list[dict[str, Any]] = []
        pages = 0
        async with api(runtime) as http:
            url: str | None = f"/api/v1/communes/{CUT}/records/observations?limit=1000"
            while url is not None:
                page = await http.get(url)
                assert page.status_code == 200, page.text
                seen += page.json()
                pages += 1
                if pages == 5:  # a new version lands mid-paging: deletions, changes and additions on both sides
                    node.publish(2, body)
                    await make_due(runtime, CUT)
                    (second,) = (await runtime.scheduler.tick()).results
                    assert second.outcome == "accepted"
                url = _next(page)
            fresh: list[dict[str, Any]] = []
            url = f"/api/v1/communes/{CUT}/records/observations?limit=5000"
            while url is not None:
                page = await http.get(url)
                fresh += page.json()
                url = _next(page)
    ids = [o["id"] for o in seen]
    assert len(ids) == len(set(ids)), "a record came twice"
    assert set(ids) == set(before), "the cursor keeps the state of its first page"
    assert {o["id"]: o for o in seen} == before, "and its content"
    assert ids == sorted(ids)
    now = {o["id"]: o for o in fresh}
    assert set(now) == (set(before) - deleted) | added, "a request without a cursor sees the new version"
    assert all(now[key]["value"] == before[key]["value"] + 1 for key in changed)


async def _two_versions(runtime: Any, server: Any) -> FakeNode:
    node = server.add(FakeNode(CUT, commitments=3))
    await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
    await runtime.scheduler.tick()
    body, _, _, _ = _edited(msgspec.json.decode(node.body), 2, width=2)
    node.publish(2, body)
    await make_due(runtime, CUT)
    await runtime.scheduler.tick()
    return node


async def test_every_list_pages_to_the_same_items_as_one_page(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _two_versions(runtime, server)
        history = runtime.history
        versions = (await history.versions(CUT)).items
        second = versions[-1].id

        async def every(read: Any) -> list[Any]:
            items, cursor = [], None
            while True:
                page = await read(cursor)
                items += page.items
                if page.next is None:
                    return items
                cursor = page.next

        whole_changes = (await history.changes(second, limit=5000)).items
        paged_changes = await every(lambda c: history.changes(second, cursor=c, limit=7))
        whole_diff = (await history.diff(CUT, 1, 2, limit=5000)).items
        paged_diff = await every(lambda c: history.diff(CUT, 1, 2, cursor=c, limit=7))
        paged_versions = await every(lambda c: history.versions(CUT, cursor=c, limit=1))
        now = (await history.records(CUT, "observations", limit=5000)).items
        then = (await history.records(CUT, "observations", sequence=1, limit=5000)).items
        events = await every(lambda c: history.events(CUT, cursor=c, limit=1))
    assert paged_changes == whole_changes
    assert {c.kind for c in whole_changes} == {"added", "changed", "deleted"}
    assert paged_diff == whole_diff
    # The diff of consecutive sequences is the version's own changes, by record.
    key = lambda c: (c.entity, c.id)  # noqa: E731
    assert sorted(whole_diff, key=key) == sorted(whole_changes, key=key)
    assert [v.id for v in paged_versions] == [v.id for v in versions]
    assert len(now) == len(then) - 4 + 24  # 2 deleted at each end, 12 added at each end
    assert [e.outcome for e in events] == ["accepted", "accepted"]


async def test_bad_cursors_and_limits_are_clear_400s(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _two_versions(runtime, server)
        first = await runtime.history.records(CUT, "observations", limit=2)
        assert first.next is not None
        async with api(runtime) as http:
            records = f"/api/v1/communes/{CUT}/records/observations"
            answers = {
                "garbage": await http.get(records, params={"cursor": "%%%not-base64"}),
                "json_not_a_cursor": await http.get(
                    records, params={"cursor": base64.urlsafe_b64encode(b'{"x":1}').decode()}
                ),
                "other_list": await http.get(
                    f"/api/v1/communes/{CUT}/records/milestones", params={"cursor": first.next}
                ),
                "other_commune": await http.get(
                    "/api/v1/communes/13119/records/observations", params={"cursor": first.next}
                ),
                "versions_with_records_cursor": await http.get(
                    f"/api/v1/communes/{CUT}/versions", params={"cursor": first.next}
                ),
                "with_as_of": await http.get(records, params={"cursor": first.next, "as_of": "2026-01-01T00:00:00Z"}),
                "too_long": await http.get(records, params={"cursor": "a" * 600}),
                "limit_zero": await http.get(records, params={"limit": 0}),
                "limit_huge": await http.get(records, params={"limit": 10**6}),
                "diff_backwards": await http.get(f"/api/v1/communes/{CUT}/diff", params={"since": 2, "until": 1}),
                "diff_missing": await http.get(f"/api/v1/communes/{CUT}/diff", params={"since": 1}),
            }
    for name, answer in answers.items():
        assert answer.status_code in (400, 422), (name, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json"), name
    for name in ("garbage", "json_not_a_cursor", "other_list", "other_commune", "versions_with_records_cursor"):
        assert answers[name].json()["errors"][0]["path"] == "cursor", name


async def test_records_as_of_a_sequence_and_the_exact_bytes_of_any_version(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = await _two_versions(runtime, server)
        versions = (await runtime.history.versions(CUT)).items
        async with api(runtime) as http:
            document = await http.get(f"/api/v1/versions/{versions[-1].id}/document")
            metadata = (await http.get(f"/api/v1/versions/{versions[0].id}")).json()
            missing = await http.get("/api/v1/versions/999999/document")
            then = (await http.get(f"/api/v1/communes/{CUT}/records/commitments", params={"sequence": 1})).json()
    assert document.content == node.body
    assert document.headers["ogp-signature"] == node.signature
    assert document.headers["ogp-sequence"] == "2"
    assert metadata["sequence"] == 1
    assert missing.status_code == 404
    assert [c["id"] for c in then] == sorted(c.id for c in generate_feed(CUT, commitments=3, seed=1).commitments)


async def test_a_cursor_that_decodes_to_the_wrong_shape_is_refused_by_the_service(database_url: str) -> None:
    async with aggregator(database_url) as runtime:
        forged = base64.urlsafe_b64encode(msgspec.json.encode({"type": "records", "cut": 5})).decode()
        with pytest.raises(InvalidInputError) as caught:
            await runtime.history.records(CUT, "observations", cursor=forged)
    assert caught.value.errors[0]["path"] == "cursor"


def test_cli_reads_the_same_history_as_the_api(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"

    async def harvest() -> list[Any]:
        async with fake_nodes() as server, aggregator(url) as runtime:
            await _two_versions(runtime, server)
            return (await runtime.history.versions(CUT)).items

    versions = asyncio.run(harvest())
    env = {"OGP_AGG_DATABASE_URL": url, "OGP_AGG_SCHEDULER": "false"}
    runner = CliRunner()
    listed = runner.invoke(cli, ["aggregator", "versions", CUT], env=env)
    records = ["aggregator", "records", CUT, "--entity", "observations"]
    first = runner.invoke(cli, [*records, "--limit", "5"], env=env)
    every = runner.invoke(cli, [*records, "--limit", "5", "--all"], env=env)
    then = runner.invoke(cli, [*records, "--sequence", "1"], env=env)
    diff = runner.invoke(cli, ["aggregator", "diff", CUT, "1", "2", "--all"], env=env)
    events = runner.invoke(cli, ["aggregator", "events", CUT], env=env)
    bad = runner.invoke(cli, [*records, "--cursor", "nope"], env=env)
    for result in (listed, first, every, then, diff, events):
        assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [v.id for v in versions]
    assert len(first.stdout.splitlines()) == 5
    assert "--cursor" in first.stderr
    ids = [json.loads(line)["id"] for line in every.stdout.splitlines()]
    published = 3 * 2  # three published indicators, 2024 and 2025
    assert len(ids) == len(set(ids)) == 3 * 24 + published - 4 + 24
    assert len(then.stdout.splitlines()) == 3 * 24 + published
    assert {json.loads(line)["kind"] for line in diff.stdout.splitlines()} == {"added", "changed", "deleted"}
    assert len(events.stdout.splitlines()) == 2
    assert bad.exit_code == 2
    assert "cursor" in bad.stderr
