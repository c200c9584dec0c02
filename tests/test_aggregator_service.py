"""The aggregator's history, read API, push, key rotation, alerts, status and registry."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import structlog.testing
from aiosmtpd.controller import Controller
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, select, text, update

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due, response
from conftest import FEEDS, ROOT
from ogp_federation.aggregator.app import create_app
from ogp_federation.aggregator.common import AggregatorBase
from ogp_federation.aggregator.harvest import MAX_ENDORSEMENTS
from ogp_federation.aggregator.registry import Commune, Node
from ogp_federation.aggregator.status.alerts import subject as alert_subject
from ogp_federation.core.errors import ConflictError
from ogp_federation.feed import encode, signing
from ogp_federation.feed.protocol import PUSH_NOTICE_TYPE, PushNotice
from ogp_federation.feed.synth import generate_feed
from test_aggregator_faults import status

CUT = "13122"
OPEN = ("in_progress", "not_started", "delayed")  # statuses of milestones still to be completed


def api(runtime: Any) -> httpx.AsyncClient:
    """The aggregator app in this event loop (no lifespan: the test owns the runtime)."""
    transport = httpx.ASGITransport(app=create_app(runtime.settings, runtime=runtime))
    return httpx.AsyncClient(transport=transport, base_url="http://aggregator.test")


def _changed_feed(node: FakeNode, sequence: int) -> bytes:
    document = msgspec.to_builtins(generate_feed(node.cut, commitments=node.commitments, seed=1, sequence=sequence))
    milestone = next(m for m in document["milestones"] if m["status"] in OPEN)  # one still to be done
    milestone.update(
        status="completed",
        progress=100,
        completed_on=document["generated_at"][:10],  # done before it was due
        evidence=[{"url": "https://example.cl/informe.pdf", "kind": "report", "title": "Informe"}],
    )
    document["assessments"] = document["assessments"][1:]
    document["tombstones"] = [{"entity": "assessments", "id": "ev-c1", "deleted_at": document["generated_at"]}]
    return msgspec.json.encode(document)


async def test_history_keeps_signed_bytes_diffs_and_past_states(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        first_body = node.body
        node.publish(2, _changed_feed(node, 2))
        await make_due(runtime, CUT)
        (result,) = (await runtime.scheduler.tick()).results
        async with api(runtime) as http:
            versions = (await http.get(f"/api/v1/communes/{CUT}/versions")).json()
            first_page = await http.get(f"/api/v1/communes/{CUT}/versions", params={"limit": 1})
            next_url = first_page.headers["link"].split(">")[0].lstrip("<")
            second_page = await http.get(next_url)
            changes = (await http.get(f"/api/v1/versions/{versions[1]['id']}/changes")).json()
            current = await http.get(f"/api/v1/communes/{CUT}/feed")
            current_head = await http.head(f"/api/v1/communes/{CUT}/feed")
            zipped = await http.get(f"/api/v1/communes/{CUT}/feed", headers={"Accept-Encoding": "gzip"})
            first_generated = datetime.fromisoformat(versions[0]["generated_at"])
            past = await http.get(
                f"/api/v1/communes/{CUT}/feed", params={"as_of": (first_generated + timedelta(seconds=30)).isoformat()}
            )
            milestones_now = (await http.get(f"/api/v1/communes/{CUT}/records/milestones")).json()
            milestones_then = (
                await http.get(
                    f"/api/v1/communes/{CUT}/records/milestones",
                    params={"as_of": (first_generated + timedelta(seconds=30)).isoformat()},
                )
            ).json()
            santiago = timezone(timedelta(hours=-3))  # the same instant written with Chile's summer offset
            then_local = (first_generated + timedelta(seconds=30)).astimezone(santiago).isoformat()
            milestones_then_local = (
                await http.get(f"/api/v1/communes/{CUT}/records/milestones", params={"as_of": then_local})
            ).json()
            past_local = await http.get(f"/api/v1/communes/{CUT}/feed", params={"as_of": then_local})
            missing = await http.get("/api/v1/communes/05101/feed")
    assert milestones_then_local == milestones_then
    assert past_local.content == first_body
    assert result.outcome == "accepted"
    assert [v["sequence"] for v in versions] == [1, 2]
    assert [v["id"] for v in first_page.json() + second_page.json()] == [v["id"] for v in versions]
    assert "link" not in second_page.headers
    kinds = {(c["entity"], c["kind"]) for c in changes}
    assert ("milestones", "changed") in kinds
    assert ("assessments", "deleted") in kinds
    status_change = next(c for c in changes if c["entity"] == "milestones")
    assert {"status", "progress", "completed_on", "evidence"} <= set(status_change["fields"])
    assert (status_change["old"]["status"] in OPEN, status_change["new"]["status"]) == (True, "completed")
    assert current.content == node.body
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == node.body  # decoded by the client: still the exact signed bytes
    assert (current_head.status_code, current_head.content) == (200, b"")
    assert current_head.headers["OGP-Signature"] == current.headers["OGP-Signature"]
    assert signing.verify(current.content, current.headers["OGP-Signature"], {node.key.thumbprint(): node.key}).kid
    assert past.content == first_body
    assert past.headers["OGP-Sequence"] == "1"
    assert (
        sum(m["status"] == "completed" for m in milestones_now)
        == sum(m["status"] == "completed" for m in milestones_then) + 1
    )
    assert missing.status_code == 404


def _notice(node: FakeNode, sequence: int, sent_at: datetime | None = None, key: Any = None) -> str:
    notice = PushNotice(
        cut=node.cut, sequence=sequence, feed_url="http://x.cl/feed/v1/plan.json", sent_at=sent_at or datetime.now(UTC)
    )
    return signing.sign_compact(msgspec.json.encode(notice), key or node.key, typ=PUSH_NOTICE_TYPE)


async def test_push_triggers_an_immediate_harvest_and_refuses_bad_notices(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url, push_min_seconds=0) as runtime:
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        node.publish(2)
        async with api(runtime) as http:
            accepted = await http.post("/push", content=_notice(node, 2))
            deadline = asyncio.get_running_loop().time() + 10
            while (await http.get(f"/api/v1/communes/{CUT}/feed")).headers.get("OGP-Sequence") != "2":
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
            duplicate = await http.post("/push", content=_notice(node, 2))
            forged = await http.post("/push", content=_notice(node, 3, key=signing.generate_key()))
            stale = await http.post("/push", content=_notice(node, 4, sent_at=datetime.now(UTC) - timedelta(hours=1)))
            garbage = await http.post("/push", content=b"not-a-jws")
            unknown = await http.post("/push", content=_notice(FakeNode("05101"), 1))
            beyond = await http.post("/push", content=_notice(node, 2**63))  # past the standard's 2**53
    assert accepted.status_code == 202
    assert accepted.json()["harvesting"] is True
    assert duplicate.json()["harvesting"] is False
    assert (forged.status_code, stale.status_code, garbage.status_code, unknown.status_code) == (400, 422, 422, 404)
    assert beyond.status_code == 422
    assert beyond.json()["errors"][0]["path"] == "$.sequence"


async def test_push_rate_limit(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url, push_min_seconds=60) as runtime:
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        async with api(runtime) as http:
            first = await http.post("/push", content=_notice(node, 5))
            second = await http.post("/push", content=_notice(node, 6))
    assert first.status_code == 202
    assert second.status_code == 429


async def test_the_push_rate_limit_holds_across_processes(database_url: str) -> None:
    """Two aggregator processes serving /push over one database share each node's limit."""
    async with (
        fake_nodes() as server,
        aggregator(database_url, push_min_seconds=60) as first,
        aggregator(database_url, push_min_seconds=60, worker_id="second") as second,
    ):
        node = server.add(FakeNode(CUT))
        await first.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        async with api(first) as one, api(second) as other:
            admitted = await one.post("/push", content=_notice(node, 5))
            refused = await other.post("/push", content=_notice(node, 6))
    assert admitted.status_code == 202
    assert refused.status_code == 429


async def _wait_for_sequence(http: httpx.AsyncClient, cut: str, sequence: int, seconds: float = 10) -> None:
    """Until the read API serves ``sequence`` for ``cut`` (fails after ``seconds``)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (await http.get(f"/api/v1/communes/{cut}/feed")).headers.get("OGP-Sequence") != str(sequence):
        assert asyncio.get_running_loop().time() < deadline, f"{cut} never reached sequence {sequence}"
        await asyncio.sleep(0.05)


async def test_a_push_is_harvested_while_a_round_waits_on_a_hanging_node(database_url: str) -> None:
    """A push does not queue behind a scheduled round that a slow node keeps open."""
    slow, pushed = "13119", CUT
    async with (
        fake_nodes() as server,
        aggregator(database_url, push_min_seconds=0, read_timeout=30, total_timeout=30) as runtime,
    ):
        nodes = {cut: server.add(FakeNode(cut)) for cut in (slow, pushed)}
        for cut in nodes:
            await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        release = asyncio.Event()

        async def hang_until_released(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
            await release.wait()
            writer.write(b"HTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n")

        nodes[slow].behaviour = hang_until_released
        await make_due(runtime, slow)
        round_task = asyncio.create_task(runtime.scheduler.tick())
        while not any(r.startswith(f"/{slow}/") for r in server.requests[-1:]):  # the round is waiting on it
            await asyncio.sleep(0.02)
        nodes[pushed].publish(2)
        try:
            async with api(runtime) as http:
                accepted = await http.post("/push", content=_notice(nodes[pushed], 2))
                await _wait_for_sequence(http, pushed, 2)
            still_waiting = not round_task.done()
        finally:
            release.set()
            summary = await round_task
    assert accepted.json()["harvesting"] is True
    assert still_waiting
    assert [r.cut for r in summary.results] == [slow]


async def test_a_push_during_that_nodes_own_poll_is_not_lost(database_url: str) -> None:
    """A poll already underway may have read the old version: the node is polled again right after it."""
    async with fake_nodes() as server, aggregator(database_url, push_min_seconds=0) as runtime:
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        old_body, old_signature, old_etag = node.body, node.signature, node.etag
        answer = asyncio.Event()

        async def old_version_late(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
            node.behaviour = None  # later requests see what the node serves now
            await answer.wait()  # (read before the node published; sent after the push)
            writer.write(response(200, old_body, {"ETag": old_etag, "OGP-Signature": old_signature}))

        node.behaviour = old_version_late
        await make_due(runtime, CUT)
        round_task = asyncio.create_task(runtime.scheduler.tick())
        while node.behaviour is not None:
            await asyncio.sleep(0.02)
        node.publish(2)
        try:
            async with api(runtime) as http:
                accepted = await http.post("/push", content=_notice(node, 2))
                await asyncio.sleep(0.2)  # the push finds the node's poll underway
                answer.set()
                (first,) = (await round_task).results
                await _wait_for_sequence(http, CUT, 2)
        finally:
            answer.set()
            await round_task
    assert accepted.json()["harvesting"] is True
    assert first.outcome == "unchanged"


async def test_pushes_while_another_worker_holds_the_node_wait_as_one(database_url: str) -> None:
    """Ten pushes while another worker's lease runs: one of them waits (backing off), the rest join it."""
    async with fake_nodes() as server, aggregator(database_url, push_min_seconds=0) as runtime:
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        async with runtime.db.transaction() as session:  # a worker that claimed the node and then died
            await session.execute(
                update(Node)
                .where(Node.cut == CUT)
                .values(lease_owner="other", lease_until=datetime.now(UTC) + timedelta(seconds=1.5))
            )
        statements: list[str] = []

        def seen(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", seen)
        node.publish(11)
        async with api(runtime) as http:
            answers = [(await http.post("/push", content=_notice(node, s))).json() for s in range(2, 12)]
            await _wait_for_sequence(http, CUT, 11)
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", seen)
    lease_checks = [s for s in statements if s.lstrip().upper().startswith("SELECT NODES.LEASE_UNTIL")]
    assert all(a["harvesting"] for a in answers)
    assert 1 <= len(lease_checks) <= 15  # one waiting push, backing off; ten of them polling would be ~150


async def test_a_push_closes_an_open_circuit(database_url: str) -> None:
    """A fresh notice signed with the node's key proves the node is back: it is harvested at once."""
    async with (
        fake_nodes() as server,
        aggregator(database_url, push_min_seconds=0, circuit_failures=1, circuit_seconds=3600) as runtime,
    ):
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()

        async def failing(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
            writer.write(response(500, b"down"))

        node.behaviour = failing
        await make_due(runtime, CUT)
        (failed,) = (await runtime.scheduler.tick()).results
        async with runtime.db.sessions() as session:
            opened = await session.scalar(select(Node.circuit_open_until).where(Node.cut == CUT))
        node.behaviour = None
        node.publish(2)
        async with api(runtime) as http:
            accepted = await http.post("/push", content=_notice(node, 2))
            await _wait_for_sequence(http, CUT, 2)
        async with runtime.db.sessions() as session:
            healed = await session.scalar(select(Node).where(Node.cut == CUT))
    assert failed.outcome == "error"
    assert opened is not None
    assert accepted.json()["harvesting"] is True
    assert healed is not None
    assert (healed.state, healed.circuit_open_until, healed.consecutive_failures) == ("ok", None, 0)


@pytest.mark.parametrize(
    ("endorsement", "code"),
    [
        ("by the old key", None),
        ("by the new key only", "signature.unknown_key"),
        # one signature check each: a flood is refused before any is checked, the good one last included
        ("by the old key after a flood", "keys.unendorsed"),
    ],
)
async def test_key_rotation_is_accepted_only_when_endorsed_by_a_pinned_key(
    database_url: str, endorsement: str, code: str | None
) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        old_key, new_key = node.key, signing.generate_key()
        node.key, node.published = new_key, [new_key, old_key]
        node.endorsers = {
            "by the old key": [new_key, old_key],
            "by the new key only": [new_key],
            "by the old key after a flood": [signing.generate_key() for _ in range(MAX_ENDORSEMENTS)] + [old_key],
        }[endorsement]
        node.publish(2)
        await make_due(runtime, CUT)
        (result,) = (await runtime.scheduler.tick()).results
        (stored,) = await runtime.registry.nodes()
    pinned = {k["kid"] for k in stored.keys["keys"]}
    assert result.code == code
    if code is None:
        assert result.outcome == "accepted"
        assert new_key.thumbprint() in pinned
        assert stored.sequence == 2
    else:
        assert result.outcome == "error"
        assert pinned == {old_key.thumbprint()}
        assert stored.sequence == 1


async def test_pinned_keys_keep_only_what_verifying_needs(database_url: str) -> None:
    """A node's JWKS may carry anything (a private key by mistake, padding): only public keys and kids are kept."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT))

        def sloppy_jwks() -> bytes:  # what a careless node publishes, at registration and after a rotation
            entries = [k.as_dict(private=True, kid=k.thumbprint()) for k in node.published or [node.key]]
            return json.dumps({"keys": entries, "padding": "x" * 100_000}).encode()

        node.jwks = sloppy_jwks  # type: ignore[method-assign]
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        old_key, new_key = node.key, signing.generate_key()
        node.key, node.published, node.endorsers = new_key, [new_key, old_key], [old_key]
        node.publish(2)
        await make_due(runtime, CUT)
        (rotated,) = (await runtime.scheduler.tick()).results
        (stored,) = await runtime.registry.nodes()
    assert rotated.outcome == "accepted"
    assert set(stored.keys) == {"keys"}
    assert {k["kid"] for k in stored.keys["keys"]} == {old_key.thumbprint(), new_key.thumbprint()}
    assert all(set(k) == {"kty", "crv", "x", "kid", "alg", "use"} for k in stored.keys["keys"])  # no "d"


async def test_registry_seeds_346_communes_and_unconfirmed_keys_are_not_harvested(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        server.add(FakeNode(CUT))
        async with runtime.db.sessions() as session:
            communes = list(await session.scalars(select(Commune.cut)))
        node = await runtime.registry.add_node(CUT, server.base(CUT))
        nothing = await runtime.scheduler.tick()
        await runtime.registry.confirm_keys(CUT)
        harvested = await runtime.scheduler.tick()
        await runtime.registry.remove_node(CUT)
        await make_due(runtime, CUT)
        after_removal = await runtime.scheduler.tick()
        with pytest.raises(ConflictError) as wrong_cut:
            await runtime.registry.add_node("13119", server.base(CUT), trust_fetched_keys=True)
    assert len(communes) == 346
    assert node.keys_confirmed is False
    assert nothing.results == []
    assert [r.outcome for r in harvested.results] == ["accepted"]
    assert after_removal.results == []
    assert getattr(wrong_cut.value, "code", "") == "conflict"


async def test_alerts_once_on_failure_and_once_on_recovery(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(
            CUT, server.base(CUT), trust_fetched_keys=True, webhook_url=f"http://127.0.0.1:{server.port}/hooks/ga"
        )
        await runtime.scheduler.tick()
        node.behaviour = status(500)(node)
        for _ in range(3):
            await make_due(runtime, CUT)
            await runtime.scheduler.tick()
        node.behaviour = None
        node.publish(2)
        await make_due(runtime, CUT)
        await runtime.scheduler.tick()
        await asyncio.gather(*runtime.alerts.tasks, return_exceptions=True)
        (recovered,) = await runtime.registry.nodes()
        async with api(runtime) as http:
            events = (await http.get(f"/api/v1/communes/{CUT}/events")).json()
    assert recovered.last_fix_seconds is not None
    assert recovered.failing_since is None
    assert [e["outcome"] for e in events] == ["accepted", "error", "error", "error", "accepted"]
    assert events[1]["code"] == "http.500"
    assert [(a.old_state, a.new_state, a.code) for a in runtime.alerts.sent] == [
        (None, "failing", "http.500"),
        ("failing", "ok", None),
    ]
    assert "Peñalolén" in alert_subject(runtime.alerts.sent[0])
    assert [(path, hook["old_state"], hook["state"], hook["code"]) for path, hook in server.hooks] == [
        ("/hooks/ga", None, "failing", "http.500"),
        ("/hooks/ga", "failing", "ok", None),
    ]
    assert server.hooks[0][1]["explanation_es"] == "el servidor respondió con un error (HTTP 500)"


async def test_status_page_metrics_and_probes(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        with structlog.testing.capture_logs() as logs:
            await runtime.scheduler.tick()
        async with runtime.db.transaction() as session:
            stored = await session.scalar(select(Node).where(Node.cut == CUT))
            assert stored is not None
            stored.last_error_code, stored.last_error_message = "http.500", "<script>alert(1)</script>"
        async with api(runtime) as http:
            page = await http.get("/status")
            data = (await http.get("/status.json")).json()
            metrics = (await http.get("/metrics")).text
            health = await http.get("/health")
            ready = await http.get("/ready")
    assert page.status_code == 200
    assert "Estado de la federación" in page.text
    assert "&lt;script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert data["counts"]["not_publishing"] == 345
    assert data["counts"]["ok"] == 1
    (ours,) = (row for row in data["communes"] if row["cut"] == CUT)
    assert ours["last_error"]["explanation_es"] == "el servidor respondió con un error (HTTP 500)"
    assert "el servidor respondió con un error (HTTP 500)" in page.text
    assert 'ogp_polls_total{outcome="accepted"} 1.0' in metrics
    assert "ogp_queue_lag_seconds" in metrics
    assert (health.status_code, ready.status_code) == (200, 200)
    assert [(e["event"], e["cut"], e["outcome"]) for e in logs] == [("poll", CUT, "accepted")]


async def test_aggregator_migrations_create_exactly_the_models(database_url: str) -> None:
    async with aggregator(database_url) as runtime, runtime.db.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), AggregatorBase.metadata)
        )
    # SQLite's full-text index of the library is an FTS5 virtual table (and its shadow tables), not a model;
    # PostgreSQL's index of the library's titles is over an expression of one column (migration 0010).
    differences = [d for d in differences if not (d[0] == "remove_table" and d[1].name.startswith("library_fts"))]
    differences = [d for d in differences if not (d[0] == "remove_index" and d[1].name == "ix_library_entries_title")]
    assert differences == []


def test_demo_runs_a_whole_federation_once(tmp_path: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1] + 10 if probe.getsockname()[1] < 60000 else 20000
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("ogp-federation")),
            "demo",
            "--once",
            "--port",
            str(port),
            "--feeds",
            str(FEEDS),
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert completed.stdout.count(" ok ") >= 3
    assert "Demo terminada" in completed.stdout
    assert "343" in completed.stdout  # the other communes, synthetic
    assert "(down)" in completed.stdout  # and the misbehaving ones, as such
    assert "Primera cosecha completa en" in completed.stdout
    # Regression: --once printed the URLs of servers it was about to stop.
    assert f"http://127.0.0.1:{port}/status" not in completed.stdout
    assert f"http://127.0.0.1:{port + 1}/" not in completed.stdout


async def test_alert_e_mail_reaches_a_real_smtp_server(database_url: str) -> None:
    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        async with fake_nodes() as server, aggregator(database_url, smtp_host="127.0.0.1", smtp_port=port) as runtime:
            node = server.add(FakeNode(CUT))
            await runtime.registry.add_node(
                CUT, server.base(CUT), trust_fetched_keys=True, contact_email="ga@penalolen.cl"
            )
            await runtime.scheduler.tick()
            node.behaviour = status(404)(node)
            await make_due(runtime, CUT)
            await runtime.scheduler.tick()
            await asyncio.gather(*runtime.alerts.tasks, return_exceptions=True)
    finally:
        controller.stop()
    (envelope,) = received
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert envelope.rcpt_tos == ["ga@penalolen.cl"]
    assert "Peñalolén (13122)" in message["Subject"]
    assert "http.404" in message.get_content()
    assert "Problema: el servidor no tiene lo pedido en esa dirección (HTTP 404)" in message.get_content()


async def test_admin_api_needs_an_operator_token_and_manages_the_registry(database_url: str) -> None:
    token = "ogpa_prueba"
    digest = hashlib.sha256(token.encode()).hexdigest()
    async with fake_nodes() as server, aggregator(database_url, admin_token_hashes=[digest]) as runtime:
        server.add(FakeNode(CUT))
        headers = {"Authorization": f"Bearer {token}"}
        async with api(runtime) as http:
            anonymous = await http.get("/admin/api/nodes")
            wrong = await http.get("/admin/api/nodes", headers={"Authorization": "Bearer otro"})
            added = await http.post("/admin/api/nodes", json={"cut": CUT, "url": server.base(CUT)}, headers=headers)
            confirmed = await http.post(f"/admin/api/nodes/{CUT}/confirm", headers=headers)
            attributes = await http.patch(
                f"/admin/api/communes/{CUT}",
                json={"population": 266798, "subdere_group": 1, "groups": ["ogp-local"]},
                headers=headers,
            )
            bad_group = await http.patch(f"/admin/api/communes/{CUT}", json={"subdere_group": 9}, headers=headers)
            private = await http.post(
                "/admin/api/nodes", json={"cut": "13119", "url": "http://10.0.0.7"}, headers=headers
            )
            listed = (await http.get("/admin/api/nodes", headers=headers)).json()
            removed = await http.delete(f"/admin/api/nodes/{CUT}", headers=headers)
    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert added.status_code == 201
    assert added.json()["keys_confirmed"] is False
    assert confirmed.status_code == 200
    assert attributes.json() == {
        "cut": CUT,
        "population": 266798,
        "subdere_group": 1,
        "groups": ["ogp-local"],
        "declared_population": None,  # (what its feed declares: nothing harvested here)
        "declared_subdere_group": None,
    }
    assert bad_group.status_code == 400
    assert [e["key"] for e in bad_group.json()["errors"]] == ["subdere_group"]
    assert private.status_code == 400
    assert private.json()["code"] == "ssrf.blocked"
    assert [n["cut"] for n in listed] == [CUT]
    assert listed[0]["keys_confirmed"] is True
    assert removed.json()["state"] == "removed"


async def test_sequences_beyond_32_bits_are_stored(database_url: str) -> None:
    """The standard allows sequences up to 2**53 (e.g. a millisecond clock)."""
    big = 1_764_000_000_000

    def renumbered(body: bytes, sequence: int) -> bytes:
        return msgspec.json.encode(msgspec.json.decode(body) | {"sequence": sequence})

    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT))
        node.publish(big, renumbered(node.body, big))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        (first,) = (await runtime.scheduler.tick()).results
        node.publish(big + 1, renumbered(_changed_feed(node, 2), big + 1))
        await make_due(runtime, CUT)
        (second,) = (await runtime.scheduler.tick()).results
        async with api(runtime) as http:
            versions = (await http.get(f"/api/v1/communes/{CUT}/versions")).json()
            milestones = (await http.get(f"/api/v1/communes/{CUT}/records/milestones")).json()
    assert (first.outcome, second.outcome) == ("accepted", "accepted")
    assert [v["sequence"] for v in versions] == [big, big + 1]
    assert any(m["status"] == "completed" for m in milestones)


def _refuse_versions_of(cut: str, database_url: str) -> tuple[list[str], str]:
    """A real database failure for one commune's versions (a trigger, as a full disk or a bad row would be),
    and the statement that removes it."""
    if database_url.startswith("sqlite"):
        create = (
            f"CREATE TRIGGER refuse BEFORE INSERT ON feed_versions WHEN NEW.cut = '{cut}' "
            "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
        )
        return [create], "DROP TRIGGER refuse"
    function = (
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
        f"IF NEW.cut = '{cut}' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$ "
        "LANGUAGE plpgsql"
    )
    trigger = "CREATE TRIGGER refuse BEFORE INSERT ON feed_versions FOR EACH ROW EXECUTE FUNCTION refuse()"
    return [function, trigger], "DROP TRIGGER refuse ON feed_versions"


async def test_a_poll_that_cannot_be_stored_costs_the_others_nothing(database_url: str) -> None:
    broken, cuts = "13201", [CUT, "13201", "13119"]
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        for cut in cuts:
            server.add(FakeNode(cut))
            await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
        create, drop = _refuse_versions_of(broken, database_url)
        async with runtime.db.transaction() as session:
            for statement in create:
                await session.execute(text(statement))
        summary = await runtime.scheduler.tick()
        async with api(runtime) as http:
            states = {c["cut"]: c for c in (await http.get("/api/v1/communes")).json() if c["cut"] in cuts}
            versions = {cut: (await http.get(f"/api/v1/communes/{cut}/versions")).json() for cut in cuts}
            events = (await http.get(f"/api/v1/communes/{broken}/events")).json()
        async with runtime.db.transaction() as session:
            await session.execute(text(drop))
        await make_due(runtime, broken)
        (retried,) = (await runtime.scheduler.tick()).results
    outcomes = {r.cut: (r.outcome, r.code) for r in summary.results}
    assert outcomes == {CUT: ("accepted", None), broken: ("error", "store.failed"), "13119": ("accepted", None)}
    assert [len(versions[cut]) for cut in cuts] == [1, 0, 1]
    assert states[broken]["state"] == "failing"
    assert events[0]["code"] == "store.failed"
    assert retried.outcome == "accepted"


async def test_records_stored_before_digests_are_compared_by_content(database_url: str) -> None:
    """Rows written before migration 0002 have no digest: a new version is compared with their data."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        async with runtime.db.transaction() as session:
            await session.execute(text("UPDATE record_states SET digest = NULL"))
        node.publish(2, _changed_feed(node, 2))
        await make_due(runtime, CUT)
        (result,) = (await runtime.scheduler.tick()).results
        async with api(runtime) as http:
            versions = (await http.get(f"/api/v1/communes/{CUT}/versions")).json()
            changes = (await http.get(f"/api/v1/versions/{versions[1]['id']}/changes")).json()
    assert result.outcome == "accepted"
    assert sorted((c["entity"], c["kind"]) for c in changes) == [("assessments", "deleted"), ("milestones", "changed")]
    changed = next(c for c in changes if c["kind"] == "changed")
    assert (changed["old"]["status"] in OPEN, changed["new"]["status"]) == (True, "completed")


async def test_a_feed_published_as_another_commune_is_refused(database_url: str) -> None:
    """A node's key signs a feed whose publisher is another commune: refused, even as its first version."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT))
        node.publish(1, encode(generate_feed("13201", commitments=1, seed=1)))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        (result,) = (await runtime.scheduler.tick()).results
        async with api(runtime) as http:
            versions = (await http.get(f"/api/v1/communes/{CUT}/versions")).json()
    assert (result.outcome, result.code) == ("invalid", "feed.wrong_publisher")
    assert result.message == "the feed is published by commune 13201, not by 13122"
    assert versions == []


async def test_records_are_read_again_when_the_current_version_changed_after_the_poll(database_url: str) -> None:
    """A poll carries the records it compared with; if another version became current meanwhile, they are
    read again, so no record is closed twice or left open twice."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        await make_due(runtime, CUT)
        (claimed,) = await runtime.scheduler.claim(10, cuts=[CUT])
        node.publish(2, _changed_feed(node, 2))
        second = await runtime.harvester.poll(claimed)
        node.publish(3, _changed_feed(node, 3))  # the same records as version 2
        third = await runtime.harvester.poll(claimed)  # read while version 1 was current
        worker, recorder = runtime.scheduler.worker, runtime.harvester.recorder
        assert third.candidate is not None
        assert third.candidate.current_of == claimed.current_version_id
        assert [r.outcome for r in await recorder.record([second], worker=worker, round_id=None)] == ["accepted"]
        async with runtime.db.transaction() as session:  # as if this worker still held the node
            await session.execute(text("UPDATE nodes SET lease_owner = :w WHERE cut = :c"), {"w": worker, "c": CUT})
        assert [r.outcome for r in await recorder.record([third], worker=worker, round_id=None)] == ["accepted"]
        async with runtime.db.sessions() as session:
            open_rows = (
                await session.execute(
                    text(
                        "SELECT entity, key, count(*) FROM record_states WHERE cut = :c AND valid_to_seq IS NULL "
                        "GROUP BY entity, key"
                    ),
                    {"c": CUT},
                )
            ).all()
        async with api(runtime) as http:
            versions = (await http.get(f"/api/v1/communes/{CUT}/versions")).json()
            changes = {v["sequence"]: (await http.get(f"/api/v1/versions/{v['id']}/changes")).json() for v in versions}
    assert open_rows
    assert all(count == 1 for _, _, count in open_rows)
    assert ("assessments", "ev-c1") not in {(entity, key) for entity, key, _ in open_rows}
    assert sorted((c["entity"], c["kind"]) for c in changes[2]) == [
        ("assessments", "deleted"),
        ("milestones", "changed"),
    ]
    assert changes[3] == []  # nothing changed between versions 2 and 3
