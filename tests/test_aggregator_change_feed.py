"""Harvesting through a node's change feed: verified, applied, stored as signed bytes, or left for the full feed."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import select, update

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due
from node_helpers import fixture_records, load_fixture, make_node, staff_token
from ogp_federation.aggregator.history import CurrentDigests, FeedVersion, current_feed
from ogp_federation.aggregator.registry import Node
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.core.errors import ConflictError
from ogp_federation.feed import Entity, Severity, decode, encode, signing, validate
from ogp_federation.feed.protocol import Change, ChangePage
from ogp_federation.feed.synth import generate_feed
from ogp_federation.node.records import ReplaceAll
from ogp_federation.node.runtime import NodeRuntime
from test_aggregator_service import api
from test_node_federation import CLI, cli, free_port, process

CUT = "13119"  # Maipú
OPEN = ("in_progress", "not_started", "delayed")  # statuses of milestones still to be completed


def _version_two(node: FakeNode) -> tuple[list[Change], bytes]:
    """Changes from version 1 to 2 (a milestone completed, an assessment deleted) and the full version 2."""
    document = msgspec.to_builtins(generate_feed(node.cut, commitments=node.commitments, seed=1, sequence=2))
    milestone = next(m for m in document["milestones"] if m["status"] in OPEN)  # one still to be done
    milestone.update(status="completed", progress=100, completed_on=document["generated_at"][:10])  # done early
    deleted = document["assessments"].pop(0)
    document["tombstones"] = [{"entity": "assessments", "id": deleted["id"], "deleted_at": document["generated_at"]}]
    changes = [
        Change(entity=Entity.MILESTONES, id=milestone["id"], sequence=2, record=milestone),
        Change(
            entity=Entity.ASSESSMENTS,
            id=deleted["id"],
            sequence=2,
            deleted_at=datetime.fromisoformat(document["generated_at"]),
        ),
    ]
    return changes, msgspec.json.encode(document)


def _page(node: FakeNode, changes: list[Change], *, since: int = 1, until: int = 2, **extra: Any) -> ChangePage:
    return ChangePage(cut=node.cut, since=since, until=until, generated_at=datetime.now(UTC), changes=changes, **extra)


def _feed_gets(requests: list[str]) -> int:
    return sum(path.endswith("/feed/v1/plan.json") for path in requests)


async def _versions(runtime: AggregatorRuntime, cut: str = CUT) -> list[dict[str, Any]]:
    async with api(runtime) as http:
        versions: list[dict[str, Any]] = (await http.get(f"/api/v1/communes/{cut}/versions")).json()
    return versions


async def _refresh_due(runtime: AggregatorRuntime, cut: str = CUT) -> None:
    """Make the node's full feed due again (as ``full_refresh_seconds`` after the last full fetch would)."""
    async with runtime.db.transaction() as session:
        await session.execute(
            update(Node).where(Node.cut == cut).values(full_fetched_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    await make_due(runtime, cut)


async def test_change_page_is_verified_applied_and_kept_as_signed_bytes(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT, offer_changes=True))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        first_body = node.body
        changes, full_two = _version_two(node)
        page_body = node.add_change_page(_page(node, changes))
        node.publish(2, full_two)
        await make_due(runtime, CUT)
        feed_gets = _feed_gets(server.requests)
        (result,) = (await runtime.scheduler.tick()).results
        assert result.outcome == "accepted"
        assert f"/{CUT}/feed/v1/changes?since=1" in server.requests
        assert _feed_gets(server.requests) == feed_gets  # the full feed was not downloaded
        versions = await _versions(runtime)
        async with api(runtime) as http:
            diff = (await http.get(f"/api/v1/versions/{versions[-1]['id']}/changes")).json()
            milestones = (await http.get(f"/api/v1/communes/{CUT}/records/milestones")).json()
            assessments = (await http.get(f"/api/v1/communes/{CUT}/records/assessments")).json()
            signed_feed = await http.get(f"/api/v1/communes/{CUT}/feed")
        async with runtime.db.sessions() as session:
            stored = await session.get(FeedVersion, versions[-1]["id"])
        assert stored is not None
        assert [(v["sequence"], v["source"]) for v in versions] == [(1, "feed"), (2, "changes")]
        # The exact signed bytes of the page, verifiable by anyone with the node's key.
        assert stored.body == page_body
        # Validated by what the page touched, its findings are counted as the whole feed's would be.
        whole = validate(full_two, first_body)
        assert stored.counts == {severity.value: whole.count(severity) for severity in Severity}
        assert signing.verify(stored.body, stored.signature, {node.key.thumbprint(): node.key}).kid
        assert {(c["entity"], c["id"], c["kind"]) for c in diff} == {
            ("milestones", changes[0].id, "changed"),
            ("assessments", changes[1].id, "deleted"),
        }
        assert "status" in next(c for c in diff if c["kind"] == "changed")["fields"]
        assert next(m for m in milestones if m["id"] == changes[0].id)["status"] == "completed"
        assert changes[1].id not in {a["id"] for a in assessments}
        # The signed-feed endpoint serves full feeds only: still version 1 until the next full fetch.
        assert (signed_feed.content, signed_feed.headers["OGP-Sequence"]) == (first_body, "1")
        assert await _digest_rows(runtime) == []  # a change page removes the row of digests

        # Nothing new: the page for since=2 says so, and the full feed is not downloaded.
        node.add_change_page(_page(node, [], since=2, until=2))
        await make_due(runtime, CUT)
        (quiet,) = (await runtime.scheduler.tick()).results
        assert quiet.outcome == "unchanged"
        assert _feed_gets(server.requests) == feed_gets

        # The periodic full fetch stores the node's signed full feed of the sequence already reached.
        await _refresh_due(runtime)
        (full,) = (await runtime.scheduler.tick()).results
        versions = await _versions(runtime)
        async with api(runtime) as http:
            signed_feed = await http.get(f"/api/v1/communes/{CUT}/feed")
            diff = (await http.get(f"/api/v1/versions/{versions[-1]['id']}/changes")).json()
        assert full.outcome == "accepted"
        assert [(v["sequence"], v["source"]) for v in versions][-1] == (2, "feed")
        assert (signed_feed.content, signed_feed.headers["OGP-Sequence"]) == (full_two, "2")
        assert diff == []  # the change page had already brought every record of version 2
        # The full feed, compared with every record, writes the row again, for the version it made current.
        assert await _digest_rows(runtime) == [versions[-1]["id"]]
        async with runtime.db.sessions() as session:
            rebuilt = await current_feed(session, CUT)
        # The full feed of a sequence first reached by a page stands for that page (which is not replayed).
        assert rebuilt is not None
        assert (encode(rebuilt[0]), rebuilt[1]) == (encode(decode(full_two)), versions[-1]["id"])


async def _digest_rows(runtime: AggregatorRuntime) -> list[int]:
    """The versions the nodes' rows of digests are of."""
    async with runtime.db.sessions() as session:
        return list((await session.scalars(select(CurrentDigests.version_id))).all())


def _bad_signature(node: FakeNode, changes: list[Change]) -> None:
    node.add_change_page(_page(node, changes), key=signing.generate_key())


def _wrong_since(node: FakeNode, changes: list[Change]) -> None:
    body = msgspec.json.encode(_page(node, changes, since=0))
    node.change_pages[1] = (body, signing.sign(body, node.key))


def _invalid_record(node: FakeNode, changes: list[Change]) -> None:
    broken = msgspec.structs.replace(changes[0], record={**(changes[0].record or {}), "status": "casi-listo"})
    node.add_change_page(_page(node, [broken, *changes[1:]]))


def _paginated(node: FakeNode, changes: list[Change]) -> None:
    node.add_change_page(_page(node, changes, next="http://127.0.0.1:1/more"))


def _not_a_page(node: FakeNode, _changes: list[Change]) -> None:
    body = b"<html>changes</html>"
    node.change_pages[1] = (body, signing.sign(body, node.key))


@pytest.mark.parametrize("breakage", [_bad_signature, _wrong_since, _invalid_record, _paginated, _not_a_page])
async def test_an_unusable_change_page_falls_back_to_the_full_feed(database_url: str, breakage: Any) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT, offer_changes=True))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        changes, full_two = _version_two(node)
        breakage(node, changes)
        node.publish(2, full_two)
        await make_due(runtime, CUT)
        feed_gets = _feed_gets(server.requests)
        (result,) = (await runtime.scheduler.tick()).results
        versions = await _versions(runtime)
        async with api(runtime) as http:
            milestones = (await http.get(f"/api/v1/communes/{CUT}/records/milestones")).json()
    assert result.outcome == "accepted"
    assert _feed_gets(server.requests) == feed_gets + 1
    assert [(v["sequence"], v["source"]) for v in versions] == [(1, "feed"), (2, "feed")]
    assert next(m for m in milestones if m["id"] == changes[0].id)["status"] == "completed"


async def test_a_missing_page_falls_back_and_a_node_without_change_feed_is_fetched_whole(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        offering = server.add(FakeNode(CUT, offer_changes=True))
        plain = server.add(FakeNode("13201"))
        for node in (offering, plain):
            await runtime.registry.add_node(node.cut, server.base(node.cut), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        for node in (offering, plain):
            node.publish(2, _version_two(node)[1])  # no change page served: 404 for the offering node
        await make_due(runtime, CUT, "13201")
        results = {r.cut: r.outcome for r in (await runtime.scheduler.tick()).results}
    assert results == {CUT: "accepted", "13201": "accepted"}
    assert f"/{CUT}/feed/v1/changes?since=1" in server.requests
    assert not any(path.startswith("/13201/feed/v1/changes") for path in server.requests)


async def test_a_real_nodes_change_feed_is_harvested(tmp_path: Path, database_url: str) -> None:
    """A node process serves its change feed; the aggregator applies the edits made through its admin API."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'node.db'}", public_url=base)
    await load_fixture(settings)
    token = await staff_token(settings)
    auth = {"Authorization": f"Bearer {token}"}
    config = str(tmp_path / "node.toml")
    with process(CLI, "node", "serve", "--config", config, "--port", str(port), ready_url=f"{base}/feed/v1/plan.json"):
        async with aggregator(database_url) as runtime, httpx.AsyncClient(base_url=base, timeout=10) as node:
            await runtime.registry.add_node("13122", base, trust_fetched_keys=True)
            (first,) = (await runtime.scheduler.tick(cuts=["13122"])).results
            milestone = await node.get("/admin/api/milestones/verde-h3", headers=auth)
            edited = milestone.json() | {"status": "completed", "progress": 100, "completed_on": "2026-06-20"}
            put = await node.put(
                "/admin/api/milestones/verde-h3", json=edited, headers={**auth, "If-Match": milestone.headers["ETag"]}
            )
            assert put.status_code == 200, put.text
            await make_due(runtime, "13122")
            (second,) = (await runtime.scheduler.tick(cuts=["13122"])).results
            versions = await _versions(runtime, "13122")
            async with api(runtime) as http:
                diff = (await http.get(f"/api/v1/versions/{versions[-1]['id']}/changes")).json()
            async with runtime.db.sessions() as session:
                stored = (
                    await session.execute(
                        select(FeedVersion.body, FeedVersion.signature).where(FeedVersion.id == versions[-1]["id"])
                    )
                ).one()
            jwks = signing.load_jwks((await node.get("/feed/v1/jwks.json")).content)
    assert (first.outcome, second.outcome) == ("accepted", "accepted")
    assert versions[-1]["source"] == "changes"
    assert versions[-1]["sequence"] == versions[0]["sequence"] + 1
    assert msgspec.json.decode(stored.body, type=ChangePage).until == versions[-1]["sequence"]
    assert signing.verify(stored.body, stored.signature, jwks).kid  # the node's signature, kept for anyone to check
    assert [(c["entity"], c["id"], c["kind"]) for c in diff] == [("milestones", "verde-h3", "changed")]
    assert diff[0]["new"]["status"] == "completed"


async def test_a_static_nodes_change_files_are_harvested(tmp_path: Path, database_url: str) -> None:
    """A commune without a server: change pages as files (``since-N.json``) with detached ``.sig`` files."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    site = tmp_path / "site"
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'node.db'}", public_url=base)
    await load_fixture(settings)
    config = tmp_path / "node.toml"
    cli("node", "export-static", "--out", str(site), "--base-url", base, config=config)
    server = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site))
    with process(*server, ready_url=f"{base}/.well-known/ogp-node"):
        async with aggregator(database_url) as runtime:
            await runtime.registry.add_node("13122", base, trust_fetched_keys=True)
            (first,) = (await runtime.scheduler.tick(cuts=["13122"])).results
            records = fixture_records()
            milestone = next(m for m in records[Entity.MILESTONES] if m["id"] == "verde-h3")
            milestone.update(status="completed", progress=100, completed_on="2026-06-20")
            node = NodeRuntime(settings)
            try:
                await node.change([ReplaceAll(records)], author="test")
            finally:
                await node.db.close()
            cli("node", "export-static", "--out", str(site), "--base-url", base, config=config)
            await make_due(runtime, "13122")
            (second,) = (await runtime.scheduler.tick(cuts=["13122"])).results
            versions = await _versions(runtime, "13122")
            async with api(runtime) as http:
                diff = (await http.get(f"/api/v1/versions/{versions[-1]['id']}/changes")).json()
    assert (first.outcome, second.outcome) == ("accepted", "accepted")
    assert [v["source"] for v in versions] == ["feed", "changes"]
    assert [(c["entity"], c["id"], c["kind"]) for c in diff] == [("milestones", "verde-h3", "changed")]


async def test_a_change_page_dropping_most_records_is_held_and_the_full_feed_is_what_gets_approved(
    database_url: str,
) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT, offer_changes=True))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        document = msgspec.json.decode(node.body)
        deleted_at = datetime.now(UTC)
        changes = [
            Change(
                entity=Entity(name),
                id=record["code" if name == "indicators" else "id"],
                sequence=2,
                deleted_at=deleted_at,
            )
            for name in ("milestones", "observations", "inputs", "participation_events", "assessments", "indicators")
            for record in document[name]
        ]
        node.add_change_page(_page(node, changes))
        await make_due(runtime, CUT)
        (held,) = (await runtime.scheduler.tick()).results
        review = runtime.review
        (pending,) = (await review.pending()).items
        with pytest.raises(ConflictError):
            await review.approve(pending.id)
        # The node's full feed of the same deletion (a quarantined node is read through its full feed only).
        for change in changes:
            document[change.entity.value] = []
        document["sequence"], document["generated_at"] = 2, deleted_at.isoformat()
        document["tombstones"] = [
            {"entity": c.entity.value, "id": c.id, "deleted_at": deleted_at.isoformat()} for c in changes
        ]
        node.publish(2, msgspec.json.encode(document))
        await make_due(runtime, CUT)
        feed_gets = _feed_gets(server.requests)
        (again,) = (await runtime.scheduler.tick()).results
        full = next(v for v in (await review.pending()).items if v.id != pending.id)
        await review.approve(full.id)
        versions = await _versions(runtime)
        async with runtime.db.sessions() as session:
            digest_rows = (await session.scalars(select(CurrentDigests))).all()
    # Made current by a review, which keeps no digests: the next full feed is compared with every record.
    assert digest_rows == []
    assert (held.outcome, held.code) == ("quarantined", "records.dropped")
    assert (again.outcome, _feed_gets(server.requests)) == ("quarantined", feed_gets + 1)
    assert [(v["source"], v["status"]) for v in versions] == [
        ("feed", "accepted"),
        ("changes", "quarantined"),
        ("feed", "accepted"),
    ]
