"""Faults the harvest survives on a real PostgreSQL: the server restarted in the middle of a round, a
worker killed (SIGKILL) again and again at random points of its rounds, and a soak of four workers over
the whole federation with misbehaving nodes.

After each, nothing is half-written (every accepted version's records are exactly its feed's, read back
from the history), nothing is harvested twice, and every node ends on the version it publishes.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, or_, select

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due, start_worker
from conftest import ROOT, fresh_pg_database
from ogp_federation.aggregator.history import FeedVersion, HarvestEvent, RecordState, snapshot_records
from ogp_federation.aggregator.registry import Node
from ogp_federation.feed import decode
from ogp_federation.feed.reference import CommuneReference
from pg_cluster import own_postgresql

pytestmark = pytest.mark.postgres
CUTS = [c.cut for c in CommuneReference.packaged()]


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    """Wait (bounded) until ``check`` holds; a database away meanwhile is waited for too."""
    deadline = time.monotonic() + seconds
    failure: Exception | None = None
    while True:
        try:
            if await check():
                return
        except Exception as exc:  # noqa: BLE001 (the server is restarting: ask again)
            failure = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what} (last error: {failure!r})")
        await asyncio.sleep(0.1)


async def _sequences(runtime: Any) -> dict[str, int | None]:
    async with runtime.db.sessions() as session:
        return dict((await session.execute(select(Node.cut, Node.sequence))).all())


async def _at(runtime: Any, wanted: dict[str, int], *, least: int | None = None) -> bool:
    """Whether every node of ``wanted`` (or at least ``least`` of them) is on its wanted sequence."""
    sequences = await _sequences(runtime)
    reached = sum(1 for cut, sequence in wanted.items() if sequences.get(cut) == sequence)
    return reached >= (len(wanted) if least is None else least)


async def _holds(runtime: Any, worker: str) -> bool:
    """Whether ``worker`` holds a lease (it has claimed nodes: it is at work)."""
    async with runtime.db.sessions() as session:
        return bool(await session.scalar(select(func.count()).where(Node.lease_owner == worker)))


async def _check_history(runtime: Any, published: dict[tuple[str, int], bytes]) -> Counter[tuple[str, int]]:
    """Every accepted version's records, read back from the history, are exactly its feed's; no version
    is there twice. Returns how many accepted versions each (cut, sequence) has (each must have one)."""
    async with runtime.db.sessions() as session:
        accepted = (
            await session.execute(select(FeedVersion.cut, FeedVersion.sequence).where(FeedVersion.status == "accepted"))
        ).all()
        twins = (
            await session.execute(
                select(FeedVersion.cut, FeedVersion.sha256, func.count())
                .group_by(FeedVersion.cut, FeedVersion.sha256)
                .having(func.count() > 1)
            )
        ).all()
        assert not twins, f"a version stored twice: {twins}"
        for cut, sequence in accepted:
            states = RecordState
            rows = await session.execute(
                select(states.entity, states.key, states.digest).where(
                    states.cut == cut,
                    states.valid_from_seq <= sequence,
                    or_(states.valid_to_seq.is_(None), states.valid_to_seq > sequence),
                )
            )
            stored = {(entity, key): digest for entity, key, digest in rows}
            expected = {key: snap.digest for key, snap in snapshot_records(decode(published[(cut, sequence)])).items()}
            assert stored == expected, f"{cut} version {sequence}: the history does not hold exactly its records"
    return Counter((cut, sequence) for cut, sequence in accepted)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def test_postgresql_restarted_mid_round_loses_nothing_and_every_node_is_harvested_later() -> None:
    """40 slow nodes, two workers; PostgreSQL stops as in a crash while the round is half done and
    comes back 2 s later. The workers keep running and reconnect; every node reaches its new version,
    and none is marked failing for the database's outage."""
    cuts = CUTS[:40]
    with own_postgresql() as cluster:
        async with fake_nodes() as server, aggregator(cluster.url) as runtime:
            nodes = [server.add(FakeNode(cut, delay=0.25)) for cut in cuts]
            published = {(node.cut, 1): node.body for node in nodes}
            for node in nodes:
                await runtime.registry.add_node(node.cut, server.base(node.cut), trust_fetched_keys=True)
            workers = [start_worker(cluster.url, f"w{i}", OGP_AGG_BATCH_SIZE="6") for i in range(2)]
            try:
                await _eventually(lambda: _at(runtime, dict.fromkeys(cuts, 1)), 60, "the first round")
                for node in nodes:
                    node.publish(2)
                    published[(node.cut, 2)] = node.body
                await make_due(runtime, *cuts)
                await _eventually(lambda: _at(runtime, dict.fromkeys(cuts, 2), least=5), 60, "a round under way")
                halfway = sum(1 for sequence in (await _sequences(runtime)).values() if sequence == 2)
                await asyncio.to_thread(cluster.stop, "immediate")  # (the fake nodes go on answering meanwhile)
                await asyncio.sleep(2)
                await asyncio.to_thread(cluster.start)
                await _eventually(lambda: _at(runtime, dict.fromkeys(cuts, 2)), 90, "every node on version 2")
                alive = [worker.poll() is None for worker in workers]
            finally:
                _stop(workers)
            counts = await _check_history(runtime, published)
            async with runtime.db.sessions() as session:
                blamed = (await session.execute(select(HarvestEvent.outcome, HarvestEvent.code))).all()
                states = set(await session.scalars(select(Node.state)))
    assert alive == [True, True], "a worker died with the database"
    assert 5 <= halfway < len(cuts), "the server stopped in the middle of the round"
    assert {outcome for outcome, _ in blamed} == {"accepted"}, "the database's outage was blamed on a node"
    assert states == {"ok"}
    assert set(counts) == set(published)  # both versions of every node, each accepted once
    assert set(counts.values()) == {1}


async def test_twenty_kills_of_a_worker_leave_no_partial_or_duplicate_version() -> None:
    """A worker is killed with SIGKILL twenty times at random points while nodes publish new versions;
    a new one starts after each kill. Every node ends on its last version, each version it was seen
    on is stored once, and every stored version's records are exactly its feed's."""
    cuts = CUTS[:24]
    rng = random.Random(17)  # noqa: S311 (where the kills land, repeatable)
    async with fresh_pg_database() as dsn:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        async with fake_nodes() as server, aggregator(url) as runtime:
            nodes = {cut: server.add(FakeNode(cut, delay=0.05)) for cut in cuts}
            published = {(cut, 1): node.body for cut, node in nodes.items()}
            for cut in cuts:
                await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
            settings = {"OGP_AGG_BATCH_SIZE": "5"}
            for kill in range(20):
                for cut in rng.sample(cuts, 8):  # a third of the nodes publish a new version
                    node = nodes[cut]
                    node.publish(node.sequence + 1)
                    published[(cut, node.sequence)] = node.body
                await make_due(runtime, *cuts)
                name = f"doomed-{kill}"
                doomed = start_worker(url, name, **settings)
                await _eventually(lambda: _holds(runtime, name), 30, f"{name} at work")  # noqa: B023
                await asyncio.sleep(rng.uniform(0.0, 0.6))  # polling, recording or claiming the next batch
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(timeout=10)
            last = {cut: node.sequence for cut, node in nodes.items()}
            survivor = start_worker(url, "survivor", **settings)
            try:
                await make_due(runtime, *cuts)
                await _eventually(lambda: _at(runtime, last), 90, "every node on its last version")
            finally:
                _stop([survivor])
            counts = await _check_history(runtime, published)
            async with runtime.db.sessions() as session:
                polled_by = Counter(await session.scalars(select(HarvestEvent.worker)))
    assert set(counts.values()) == {1}, "a version was accepted twice"
    assert set(last.items()) <= set(counts)
    killed_mid_work = [name for name in polled_by if name.startswith("doomed-")]
    assert len(killed_mid_work) >= 10, f"the kills landed while workers harvested: {polled_by}"


def test_a_soak_of_four_workers_over_the_whole_federation_ends_with_every_node_in_its_right_state(
    tmp_path: Path,
) -> None:
    """benchmarks/soak.py, shortened to 20 rounds (its 200 are measured there): 346 nodes, every
    20th down, invalid or slow, four workers; every node ends in the state its behaviour calls for and
    every version a good node published is accepted exactly once."""
    out = tmp_path / "soak.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--rounds", "20", "--publish-every", "5"]
    done = subprocess.run([*command, "--json", str(out)], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["wrong"] == []
    assert result["versions_published"] == 5
    bad = result["misbehaving"]
    good = 346 - sum(bad.values())
    assert min(bad.values()) > 0
    assert result["states"] == {"ok": good, "failing": bad["down"] + bad["slow"], "invalid": bad["invalid"]}
    assert result["versions_accepted"] == good * 5
    assert len(result["memory_mib"]) == 4
