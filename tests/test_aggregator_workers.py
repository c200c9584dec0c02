"""Several aggregator processes over one PostgreSQL: each due node is polled exactly once per round,
and a process killed mid-harvest leaves nothing half-written while its work is taken over."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due, start_worker
from conftest import fresh_pg_database
from ogp_federation.aggregator.history import FeedVersion, HarvestEvent
from ogp_federation.aggregator.registry import Node
from ogp_federation.feed.reference import CommuneReference

pytestmark = pytest.mark.postgres


def worker(database_url: str, name: str, **extra: str) -> subprocess.Popen[bytes]:
    return start_worker(database_url, name, **extra)


async def _events(runtime: Any) -> int:
    async with runtime.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(HarvestEvent)) or 0)


async def _wait_events(runtime: Any, count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while await _events(runtime) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} polls, saw {await _events(runtime)}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def pg_url() -> Any:
    async with fresh_pg_database() as dsn:
        yield dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def test_two_workers_poll_each_node_exactly_once_per_round(pg_url: str) -> None:
    cuts = [c.cut for c in CommuneReference.packaged()][:6]
    rounds = 100
    async with fake_nodes() as server, aggregator(pg_url) as runtime:
        for cut in cuts:
            server.add(FakeNode(cut))
            await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
        workers = [worker(pg_url, "w1"), worker(pg_url, "w2")]
        try:
            await _wait_events(runtime, len(cuts))  # the first poll of each node
            for number in range(1, rounds + 1):
                await make_due(runtime, *cuts)
                await _wait_events(runtime, len(cuts) * (number + 1))
            await asyncio.sleep(0.3)  # a duplicate, if any, would show up now
        finally:
            for process in workers:
                process.terminate()
            for process in workers:
                process.wait(timeout=20)
        async with runtime.db.sessions() as session:
            events = (
                await session.execute(select(HarvestEvent.node_id, HarvestEvent.due_at, HarvestEvent.worker))
            ).all()
    per_round = Counter((node_id, due_at) for node_id, due_at, _ in events)
    per_node = Counter(node_id for node_id, _, _ in events)
    assert len(events) == len(cuts) * (rounds + 1)
    assert set(per_round.values()) == {1}
    assert set(per_node.values()) == {rounds + 1}
    assert {name for _, _, name in events} == {"w1", "w2"}


async def test_a_killed_worker_leaves_no_partial_version_and_its_work_resumes(pg_url: str) -> None:
    async with fake_nodes() as server, aggregator(pg_url) as runtime:
        node = server.add(FakeNode("13122"))
        await runtime.registry.add_node("13122", server.base("13122"), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        node.publish(2)
        good_body, good_signature = node.body, node.signature
        started = asyncio.Event()

        async def slow(writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(good_body)}\r\nOGP-Signature: {good_signature}\r\n\r\n"
            writer.write(head.encode())
            writer.write(good_body[:100])
            await writer.drain()
            started.set()
            await asyncio.sleep(60)

        node.behaviour = slow
        await make_due(runtime, "13122")
        doomed = worker(pg_url, "doomed", OGP_AGG_TOTAL_TIMEOUT="60", OGP_AGG_READ_TIMEOUT="60")
        try:
            await asyncio.wait_for(started.wait(), 30)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
        finally:
            if doomed.poll() is None:
                doomed.kill()
        async with runtime.db.sessions() as session:
            leased = await session.scalar(select(Node).where(Node.cut == "13122"))
            versions = await session.scalar(select(func.count()).select_from(FeedVersion))
        assert leased is not None
        assert leased.lease_owner == "doomed"
        assert versions == 1  # nothing of version 2 was written
        node.behaviour = None
        survivor = worker(pg_url, "survivor")
        try:
            deadline = time.monotonic() + 30
            while True:
                async with runtime.db.sessions() as session:
                    current = await session.scalar(select(Node.sequence).where(Node.cut == "13122"))
                if current == 2 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
        finally:
            survivor.terminate()
            survivor.wait(timeout=20)
    assert current == 2
