"""Every way a node can fail or lie, each against a real loopback server, beside a healthy node.

For each fault: the error is recorded with a clear code, the node's last good version still serves,
the healthy node in the same round is unaffected, and the aggregator keeps running.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import select, update

from agg_helpers import (
    FakeNode,
    FakeNodeServer,
    LoopbackNames,
    aggregator,
    fake_nodes,
    gzip_bomb,
    make_due,
    response,
)
from ogp_federation.aggregator.common import describe_es
from ogp_federation.aggregator.history import FeedVersion, HarvestEvent
from ogp_federation.aggregator.net import BlockedAddressError
from ogp_federation.aggregator.registry import Node
from ogp_federation.core.errors import ConflictError, NotFoundError
from ogp_federation.feed import encode, signing
from ogp_federation.feed.synth import generate_feed

HEALTHY, BROKEN = "13122", "13119"
Writer = asyncio.StreamWriter
Fault = Callable[[FakeNode], Callable[[Writer, dict[str, str]], Awaitable[None]]]


def hang(_: FakeNode) -> Any:
    async def behaviour(writer: Writer, headers: dict[str, str]) -> None:
        await asyncio.sleep(10)

    return behaviour


def drip(_: FakeNode) -> Any:
    async def behaviour(writer: Writer, headers: dict[str, str]) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(100):  # a byte every 0.2 s: never silent for the 1 s read timeout, never done in time
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.2)

    return behaviour


def status(code: int, extra: dict[str, str] | None = None) -> Fault:
    def make(_: FakeNode) -> Any:
        async def behaviour(writer: Writer, headers: dict[str, str]) -> None:
            writer.write(response(code, b"error", extra))

        return behaviour

    return make


def body(content: Callable[[FakeNode], bytes], extra: dict[str, str] | None = None, sign: bool = True) -> Fault:
    def make(node: FakeNode) -> Any:
        payload = content(node)
        signature = signing.sign(payload, node.key) if sign else node.signature

        async def behaviour(writer: Writer, headers: dict[str, str]) -> None:
            writer.write(response(200, payload, {"OGP-Signature": signature, **(extra or {})}))

        return behaviour

    return make


def redirect(location: Callable[[FakeNode], str]) -> Fault:
    def make(node: FakeNode) -> Any:
        async def behaviour(writer: Writer, headers: dict[str, str]) -> None:
            writer.write(response(302, b"", {"Location": location(node)}))

        return behaviour

    return make


def reset_mid_body(node: FakeNode) -> Any:
    async def behaviour(writer: Writer, headers: dict[str, str]) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + node.body[:1000])
        await writer.drain()
        writer.transport.abort()

    return behaviour


def next_feed(node: FakeNode) -> bytes:
    return encode(generate_feed(node.cut, commitments=node.commitments, seed=1, sequence=node.sequence + 1))


def schema_invalid(node: FakeNode) -> bytes:
    document = msgspec.json.decode(next_feed(node))
    document["milestones"][0]["status"] = "terminado"
    return msgspec.json.encode(document)


def signed_by_stranger(node: FakeNode) -> Any:
    stranger = signing.generate_key()
    payload = next_feed(node)

    async def behaviour(writer: Writer, headers: dict[str, str]) -> None:
        writer.write(response(200, payload, {"OGP-Signature": signing.sign(payload, stranger)}))

    return behaviour


FAULTS: dict[str, tuple[Fault, str]] = {
    "hangs": (hang, "timeout.read"),
    "drips": (drip, "timeout.total"),
    "http_500": (status(500), "http.500"),
    "http_404": (status(404), "http.404"),
    "http_429": (status(429, {"Retry-After": "120"}), "http.429"),
    "http_429_for_ever": (status(429, {"Retry-After": "9" * 30}), "http.429"),
    "http_503_until_a_date": (status(503, {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}), "http.503"),
    "html": (body(lambda n: b"<!doctype html><html><body>Mantenimiento</body></html>"), "body.not_json"),
    "truncated_json": (body(lambda n: next_feed(n)[:500]), "body.malformed_json"),
    "too_large": (body(lambda n: b"{" + b" " * (600 * 1024) + b"}"), "body.too_large"),
    "gzip_bomb": (body(lambda n: gzip_bomb(20 * 1024 * 1024), {"Content-Encoding": "gzip"}), "body.decompression_bomb"),
    "bad_signature": (body(next_feed, sign=False), "signature.mismatch"),
    "unknown_key": (signed_by_stranger, "signature.unknown_key"),
    "schema_invalid": (body(schema_invalid), "feed.invalid"),
    "redirect_loop": (redirect(lambda n: "/" + n.cut + "/feed/v1/plan.json"), "redirect.loop"),
    "redirect_private": (redirect(lambda n: "http://10.20.30.40/plan.json"), "ssrf.blocked"),
    "redirect_metadata": (redirect(lambda n: "http://169.254.169.254/latest/meta-data/"), "ssrf.blocked"),
    "redirect_bad_port": (redirect(lambda n: "http://127.0.0.1:99999/plan.json"), "url.invalid"),
    "redirect_to_a_file": (redirect(lambda n: "file:///etc/passwd"), "url.invalid"),
    "reset_mid_body": (reset_mid_body, "body.truncated"),
}


def test_every_fault_code_has_a_spanish_explanation() -> None:
    codes = {code for _, code in FAULTS.values()} | {"timeout.poll", "records.dropped", "sequence.backwards"}
    assert all(not (describe_es(code) or "error ").startswith("error ") for code in codes), codes


async def _register(runtime: Any, server: FakeNodeServer, *cuts: str) -> None:
    for cut in cuts:
        server.add(FakeNode(cut))
        await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)


async def _state(runtime: Any, cut: str) -> Node:
    async with runtime.db.sessions() as session:
        node = await session.scalar(select(Node).where(Node.cut == cut))
    assert node is not None
    return node


async def _current_body(runtime: Any, cut: str) -> bytes | None:
    node = await _state(runtime, cut)
    async with runtime.db.sessions() as session:
        return await session.scalar(select(FeedVersion.body).where(FeedVersion.id == node.current_version_id))


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
async def test_a_failing_node_is_recorded_and_keeps_its_last_good_version(fault: str, database_url: str) -> None:
    make_behaviour, expected = FAULTS[fault]
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _register(runtime, server, HEALTHY, BROKEN)
        first = await runtime.scheduler.tick()
        assert sorted(r.outcome for r in first.results) == ["accepted", "accepted"]
        good = await _current_body(runtime, BROKEN)
        server.nodes[HEALTHY].publish(2)
        server.nodes[BROKEN].behaviour = make_behaviour(server.nodes[BROKEN])
        await make_due(runtime, HEALTHY, BROKEN)
        before = datetime.now(UTC)
        second = await runtime.scheduler.tick()
        by_cut = {r.cut: r for r in second.results}
        node = await _state(runtime, BROKEN)
        healthy = await _state(runtime, HEALTHY)
        async with runtime.db.sessions() as session:
            events = list(await session.scalars(select(HarvestEvent).where(HarvestEvent.node_id == node.id)))
        assert by_cut[BROKEN].code == expected, by_cut[BROKEN]
        assert node.state in ("failing", "invalid")
        assert node.last_error_code == expected
        assert node.last_error_message
        assert await _current_body(runtime, BROKEN) == good
        assert node.sequence == 1
        assert [e.code for e in events] == [None, expected]
        assert by_cut[HEALTHY].outcome == "accepted"
        assert healthy.state == "ok"
        assert healthy.sequence == 2
        if fault == "http_429":
            assert node.next_poll_at >= before + timedelta(seconds=119)
        if fault in ("http_429_for_ever", "http_503_until_a_date"):  # honoured up to the interval, no further
            assert before + timedelta(seconds=3599) <= node.next_poll_at <= datetime.now(UTC) + timedelta(seconds=3600)
        third = await runtime.scheduler.tick()  # the aggregator keeps running (nothing due now)
        assert third.results == []


async def test_a_poll_is_cut_before_its_lease_runs_out(database_url: str) -> None:
    """Requests each within their timeouts can add up past the lease; the poll's own budget ends it first."""

    def slow(_: FakeNode) -> Any:
        async def behaviour(writer: Writer, headers: dict[str, str]) -> None:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(4):  # a byte every 0.5 s: never silent for the 1 s read timeout, done in the 2.5 s total
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.5)

        return behaviour

    async with fake_nodes() as server, aggregator(database_url, poll_timeout=1.5) as runtime:
        await _register(runtime, server, HEALTHY, BROKEN)
        server.nodes[BROKEN].behaviour = slow(server.nodes[BROKEN])
        by_cut = {r.cut: r for r in (await runtime.scheduler.tick()).results}
        broken = await _state(runtime, BROKEN)
    async with aggregator(database_url, lease_seconds=5) as short_lease:
        bounded = short_lease.harvester.poll_budget
    assert (by_cut[BROKEN].outcome, by_cut[BROKEN].code) == ("error", "timeout.poll")
    assert (broken.state, broken.last_error_code, broken.lease_owner) == ("failing", "timeout.poll", None)
    assert by_cut[HEALTHY].outcome == "accepted"
    assert bounded == 4.0  # 80 % of the lease, below the default poll_timeout of 90 s


async def test_stopping_mid_round_keeps_finished_polls_and_gives_back_the_rest(database_url: str) -> None:
    """A stop (deploy, restart) is not the nodes' fault: no poll cut short counts as a failure."""
    async with fake_nodes() as server, aggregator(database_url, read_timeout=30, total_timeout=30) as runtime:
        await _register(runtime, server, HEALTHY, BROKEN)
        await runtime.scheduler.tick()
        server.nodes[HEALTHY].publish(2)
        never = asyncio.Event()  # the slow node answers only after the test

        async def slow(writer: Writer, headers: dict[str, str]) -> None:
            await never.wait()

        server.nodes[BROKEN].behaviour = slow
        await make_due(runtime, HEALTHY, BROKEN)
        round_task = asyncio.create_task(runtime.scheduler.tick())
        while (await _state(runtime, HEALTHY)).sequence != 2:  # the finished poll is written (batch linger)
            await asyncio.sleep(0.05)
        await asyncio.wait_for(runtime.stop(), 20)
        await asyncio.gather(round_task, return_exceptions=True)
        after_stop = await runtime.scheduler.tick()  # a stopped scheduler claims, finds it stopping, gives back
    async with aggregator(database_url) as later:
        broken, healthy = await _state(later, BROKEN), await _state(later, HEALTHY)
        async with later.db.sessions() as session:
            events = list(await session.scalars(select(HarvestEvent.outcome).where(HarvestEvent.node_id == broken.id)))
    assert round_task.cancelled()
    assert after_stop.results == []
    assert healthy.sequence == 2
    assert (broken.state, broken.consecutive_failures, broken.last_error_code) == ("ok", 0, None)
    assert (broken.lease_owner, broken.lease_until) == (None, None)  # given back: any worker may poll it now
    assert broken.next_poll_at <= datetime.now(UTC)
    assert events == ["accepted"]  # the first round only


async def test_stopping_the_scheduler_mid_round_is_quiet(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """A long round is no job warning, the tick a stop cuts short no job error, nor a failure of the node."""
    async with (
        fake_nodes() as server,
        aggregator(database_url, read_timeout=30, total_timeout=30, tick_seconds=0.1) as runtime,
    ):
        await _register(runtime, server, BROKEN)
        never = asyncio.Event()

        async def slow(writer: Writer, headers: dict[str, str]) -> None:
            await never.wait()

        server.nodes[BROKEN].behaviour = slow
        with caplog.at_level(logging.INFO, logger="apscheduler"):
            runtime.scheduler.start()
            while not any(r.endswith("/plan.json") for r in server.requests):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # five ticks while the round waits: none is a skipped-job warning
            await asyncio.wait_for(runtime.stop(), 20)
    async with aggregator(database_url) as later:
        broken = await _state(later, BROKEN)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("executed successfully" in r.getMessage() for r in caplog.records) >= 5  # each tick, at once
    assert (broken.state, broken.lease_owner) == ("never_harvested", None)


async def test_oversized_cache_validators_are_dropped_and_the_feed_kept(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _register(runtime, server, BROKEN)
        node = server.nodes[BROKEN]
        node.publish(2)
        long_headers = {"ETag": '"' + "e" * 5000 + '"', "Last-Modified": "x" * 5000}
        node.behaviour = body(lambda n: n.body, long_headers)(node)
        (result,) = (await runtime.scheduler.tick()).results
        stored = await _state(runtime, BROKEN)
    assert (result.outcome, stored.sequence) == ("accepted", 2)
    assert (stored.etag, stored.last_modified) == (None, None)


async def test_a_node_with_an_internationalised_name_is_harvested(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        runtime.fetcher.guard = LoopbackNames(["127.0.0.0/8"])
        server.add(FakeNode(BROKEN))
        base = f"http://municipalidad-ñuñoa.cl:{server.port}/{BROKEN}"
        await runtime.registry.add_node(BROKEN, base, trust_fetched_keys=True)
        async with runtime.db.transaction() as session:  # the feed itself under the same name
            await session.execute(update(Node).values(feed_url=base + "/feed/v1/plan.json"))
        (result,) = (await runtime.scheduler.tick()).results
    assert result.outcome == "accepted"
    assert server.hosts[0] == f"xn--municipalidad-uoa-sxbb.cl:{server.port}"


async def test_a_node_at_an_ipv6_address_is_harvested(database_url: str) -> None:
    """The checked address goes in the request URL in brackets; Host keeps them too."""
    async with (
        fake_nodes(host="[::1]", bind="::1") as server,
        aggregator(database_url, allowed_networks=["::1/128"]) as runtime,
    ):
        server.add(FakeNode(BROKEN))
        await runtime.registry.add_node(BROKEN, server.base(BROKEN), trust_fetched_keys=True)
        (result,) = (await runtime.scheduler.tick()).results
    assert (result.outcome, result.sequence) == ("accepted", 1)
    assert set(server.hosts) == {f"[::1]:{server.port}"}


async def test_an_unexpected_error_in_one_poll_costs_only_that_poll(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _register(runtime, server, HEALTHY, BROKEN)
        real_poll = runtime.harvester._poll

        async def poll(node: Node) -> Any:
            if node.cut == BROKEN:
                raise RuntimeError("a bug some node's data reached")
            return await real_poll(node)

        monkeypatch.setattr(runtime.harvester, "_poll", poll)
        by_cut = {r.cut: r for r in (await runtime.scheduler.tick()).results}
        broken = await _state(runtime, BROKEN)
    assert by_cut[HEALTHY].outcome == "accepted"
    assert (by_cut[BROKEN].outcome, by_cut[BROKEN].code) == ("error", "internal.error")
    assert (broken.state, broken.lease_owner) == ("failing", None)


async def test_a_feed_with_a_nul_character_is_invalid_not_unstorable(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _register(runtime, server, BROKEN)
        node = server.nodes[BROKEN]
        document = msgspec.json.decode(next_feed(node))
        document["commitments"][0]["title"] = "Compromiso\u0000"
        document["milestones"][1]["status"] = "listo\u0000"  # a finding that quotes the value back
        node.publish(2, msgspec.json.encode(document))
        (result,) = (await runtime.scheduler.tick()).results
        stored = await _state(runtime, BROKEN)
    assert (result.outcome, result.code) == ("invalid", "feed.invalid")
    assert (stored.state, stored.current_version_id, stored.last_error_code) == ("invalid", None, "feed.invalid")
    assert "\x00" not in (stored.last_error_message or "")  # stored on PostgreSQL, so no NUL in it


async def test_unresolvable_name_is_recorded(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _register(runtime, server, BROKEN)
        async with runtime.db.transaction() as session:
            await session.execute(
                update(Node).where(Node.cut == BROKEN).values(feed_url="http://nodo-inexistente.invalid/plan.json")
            )
        (result,) = (await runtime.scheduler.tick()).results
    assert result.code == "dns.unresolvable"


async def test_a_replayed_older_feed_is_quarantined_not_applied(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _register(runtime, server, BROKEN)
        node = server.nodes[BROKEN]
        old_body, old_signature = node.body, node.signature
        await runtime.scheduler.tick()
        node.publish(2)
        await make_due(runtime, BROKEN)
        await runtime.scheduler.tick()

        async def replay(writer: Writer, headers: dict[str, str]) -> None:
            writer.write(response(200, old_body, {"OGP-Signature": old_signature}))

        node.behaviour = replay
        await make_due(runtime, BROKEN)
        (result,) = (await runtime.scheduler.tick()).results
        state = await _state(runtime, BROKEN)
        held = (await runtime.review.pending()).items  # the exact bytes of version 1: already stored, not again
        outcomes = []
        for seed in (2, 3):  # two other versions with an old sequence: each held for review
            older = encode(generate_feed(node.cut, commitments=node.commitments, seed=seed, sequence=1))
            node.behaviour = body(lambda _, older=older: older)(node)
            await make_due(runtime, BROKEN)
            outcomes += [r.outcome for r in (await runtime.scheduler.tick()).results]
        pending = (await runtime.review.pending()).items
        first_page = await runtime.review.pending(limit=1)
        second_page = await runtime.review.pending(cursor=first_page.next, limit=1)
        assert [*first_page.items, *second_page.items] == pending
        assert len(pending) == 2
        assert second_page.next is None
        for item in pending:
            with pytest.raises(ConflictError):
                await runtime.review.approve(item.id)
        await runtime.review.discard(pending[0].id)
        after_one = await _state(runtime, BROKEN)
        await runtime.review.discard(pending[1].id)
        after_both = await _state(runtime, BROKEN)
    assert result.outcome == "quarantined"
    assert result.code == "sequence.backwards"
    assert state.state == "quarantined"
    assert state.sequence == 2
    assert held == []
    assert outcomes == ["quarantined", "quarantined"]
    assert len(pending) == 2
    assert after_one.state == "quarantined"  # one version still waits for review
    assert (after_both.state, after_both.sequence) == ("ok", 2)


async def test_a_version_dropping_most_records_is_quarantined(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _register(runtime, server, BROKEN)
        await runtime.scheduler.tick()
        node = server.nodes[BROKEN]
        document = msgspec.json.decode(next_feed(node))
        tombstones = []
        for name in ("milestones", "observations", "inputs", "participation_events", "assessments", "indicators"):
            key = "code" if name == "indicators" else "id"
            tombstones += [
                {"entity": name, "id": r[key], "deleted_at": document["generated_at"]} for r in document[name]
            ]
            document[name] = []
        document["tombstones"] = tombstones  # a valid, deliberate mass deletion: still held for review
        node.publish(2, msgspec.json.encode(document))
        await make_due(runtime, BROKEN)
        (result,) = (await runtime.scheduler.tick()).results
        state = await _state(runtime, BROKEN)
        async with runtime.db.sessions() as session:
            versions = list(await session.scalars(select(FeedVersion).order_by(FeedVersion.id)))
        await runtime.review.approve(versions[1].id)
        (approved,) = await runtime.registry.nodes()
        with pytest.raises(NotFoundError):
            await runtime.review.discard(versions[1].id)
    assert result.outcome == "quarantined"
    assert result.code == "records.dropped"
    assert state.sequence == 1
    assert [v.status for v in versions] == ["accepted", "quarantined"]
    assert "drops" in (versions[1].reason or "")
    assert (approved.sequence, approved.state, approved.current_version_id) == (2, "ok", versions[1].id)


async def test_more_than_half_failing_flags_the_round(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _register(runtime, server, "13122", "13119", "13128")
        await runtime.scheduler.tick()
        for cut in ("13119", "13128"):
            server.nodes[cut].behaviour = status(500)(server.nodes[cut])
        await make_due(runtime, "13122", "13119", "13128")
        summary = await runtime.scheduler.tick()
        nodes = await runtime.registry.nodes()
    assert summary.flagged
    assert all(n.state != "removed" for n in nodes)
    assert all(n.current_version_id is not None for n in nodes)


async def test_circuit_opens_after_repeated_failures(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url, circuit_failures=2, circuit_seconds=600) as runtime:
        await _register(runtime, server, BROKEN)
        server.nodes[BROKEN].behaviour = status(500)(server.nodes[BROKEN])
        for _ in range(2):
            await make_due(runtime, BROKEN)
            await runtime.scheduler.tick()
        node = await _state(runtime, BROKEN)
        requests = len(server.requests)
        await runtime.scheduler.tick()  # not due: the circuit holds it back
        async with runtime.db.transaction() as session:  # made due without closing the circuit (a push closes it)
            await session.execute(update(Node).where(Node.cut == BROKEN).values(next_poll_at=datetime.now(UTC)))
        (skipped,) = (await runtime.scheduler.tick()).results
        released = await _state(runtime, BROKEN)
    assert node.circuit_open_until is not None
    assert node.next_poll_at >= datetime.now(UTC) + timedelta(seconds=590)
    assert len(server.requests) == requests
    assert (skipped.outcome, skipped.code) == ("skipped", "circuit.open")
    assert released.lease_owner is None
    assert released.next_poll_at == node.circuit_open_until


async def test_guard_refuses_private_addresses_before_connecting(database_url: str) -> None:
    async with aggregator(database_url, allowed_networks=[]) as runtime:
        for url in (
            "http://127.0.0.1:9/x",
            "http://10.0.0.1/x",
            "http://[::1]/x",
            "http://169.254.169.254/x",
            "http://192.168.1.10/x",
            "http://[fd00:ec2::254]/x",
            "http://0.0.0.0/x",
            "http://224.0.0.1/x",
            "http://localhost/x",
            "ftp://example.org/x",
            "http://user:pw@example.org/x",
        ):
            with pytest.raises(BlockedAddressError) as caught:
                await runtime.fetcher.get(url)
            assert caught.value.code in ("ssrf.blocked", "url.invalid"), url
        # Only the guard itself here: should it ever let one through, nothing is sent off this machine.
        for url in (
            "http://2130706433/x",  # 127.0.0.1 as one number
            "http://[::ffff:127.0.0.1]/x",
            "http://[::ffff:a9fe:a9fe]/x",  # 169.254.169.254, IPv4-mapped
            "http://[2002:7f00:1::]/x",  # 6to4 carrying 127.0.0.1
            "http://[2002:a9fe:a9fe::]/x",  # 6to4 carrying the metadata address
            "http://[64:ff9b::7f00:1]/x",  # NAT64 carrying 127.0.0.1
        ):
            with pytest.raises(BlockedAddressError):
                await runtime.guard.check(url)


@pytest.mark.parametrize(
    ("url", "host_header", "url_host"),
    [
        ("http://nodo.renca.cl/ga", "nodo.renca.cl", "127.0.0.1"),
        ("https://nodo.renca.cl/ga", "nodo.renca.cl", "127.0.0.1"),
        ("http://nodo.renca.cl:443/ga", "nodo.renca.cl:443", "127.0.0.1"),  # 443 is not http's default
        ("https://nodo.renca.cl:8443/ga", "nodo.renca.cl:8443", "127.0.0.1"),
        ("http://[::1]:8080/ga", "[::1]:8080", "[::1]"),
        ("https://[::1]/ga", "[::1]", "[::1]"),
    ],
)
async def test_the_checked_target_names_the_host_as_http_requires(url: str, host_header: str, url_host: str) -> None:
    target = await LoopbackNames(["127.0.0.0/8", "::1/128"]).check(url)
    assert (target.host_header, target.url_host) == (host_header, url_host)


async def test_jwks_signatures_shape(database_url: str) -> None:
    async with fake_nodes() as server:
        node = server.add(FakeNode(HEALTHY))
        assert json.loads(node.jwks())["keys"][0]["kid"] == node.key.thumbprint()


async def test_a_304_to_a_request_without_validators_is_a_protocol_error(database_url: str) -> None:
    """Regression: a 304 to the first, unconditional poll was recorded as unchanged, and the node shown "Al día"."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _register(runtime, server, BROKEN)

        async def not_modified(writer: Writer, headers: dict[str, str]) -> None:
            assert "if-none-match" not in headers
            writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n')

        server.nodes[BROKEN].behaviour = not_modified
        (result,) = (await runtime.scheduler.tick()).results
        node = await _state(runtime, BROKEN)
        row = next(r for r in await runtime.status.rows() if r.cut == BROKEN)
    assert result.outcome == "error"
    assert result.code == "http.unexpected_304"
    assert node.state == "failing"
    assert node.current_version_id is None
    assert row.state_es == "Con fallas"
    assert row.last_error is not None
    assert row.last_error.explanation_es == describe_es("http.unexpected_304")
