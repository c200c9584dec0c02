"""Scheduled harvesting shared by several aggregator processes on one PostgreSQL.

APScheduler 3.11 (stable; 4.0 is a pre-release, see shared/STACK.md) runs a short tick in each
process. The tick *claims* due nodes with ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease: a due node is
polled by exactly one process; a crashed process's leases expire and other processes take the work.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from sqlalchemy import or_, select, update

from ogp_federation.core.db import Database, database_failure
from ogp_federation.core.logs import get_logger

from .harvest.harvester import Harvester, HarvestResult, Polled
from .models import Node, Round
from .settings import AggregatorSettings

_log = get_logger("ogp_federation.aggregator")

__all__ = ["HarvestScheduler", "RoundSummary"]

WRITE_BATCH = 25  # finished polls that start a write (more gather while writers are busy)
WRITERS = 3  # transactions writing polls at once, per worker


@dataclass(frozen=True)
class RoundSummary:
    """What one tick did."""

    round_id: int | None
    results: list[HarvestResult]
    flagged: bool


class HarvestScheduler:
    """Claims due nodes and harvests them, on a timer and on demand (push)."""

    def __init__(self, db: Database, harvester: Harvester, settings: AggregatorSettings) -> None:
        self.db = db
        self.harvester = harvester
        self.settings = settings
        self.worker = settings.worker_name()
        self._scheduler: AsyncIOScheduler | None = None
        self._running = asyncio.Lock()
        self._semaphore = asyncio.Semaphore(settings.concurrency)

    async def claim(self, limit: int, *, cuts: list[str] | None = None) -> list[Node]:
        """Lease up to ``limit`` due nodes to this worker; no other worker can claim them meanwhile."""
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            query = (
                select(Node)
                .where(
                    Node.next_poll_at <= now,
                    Node.keys_confirmed.is_(True),
                    Node.state != "removed",
                    or_(Node.lease_until.is_(None), Node.lease_until < now),
                )
                .order_by(Node.next_poll_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if cuts is not None:
                query = query.where(Node.cut.in_(cuts))
            rows = list(await session.scalars(query))
            if rows:
                await session.execute(
                    update(Node)
                    .where(Node.id.in_([node.id for node in rows]))
                    .values(lease_owner=self.worker, lease_until=now + timedelta(seconds=self.settings.lease_seconds))
                )
        return rows

    async def tick(self, *, cuts: list[str] | None = None) -> RoundSummary:
        """One round: claim what is due and harvest it all."""
        async with self._running:
            claimed = await self.claim(self.settings.batch_size, cuts=cuts)
            if not claimed:
                return RoundSummary(None, [], False)
            async with self.db.transaction() as session:
                round_row = Round(worker=self.worker, started_at=datetime.now(UTC), nodes=len(claimed))
                session.add(round_row)
                await session.flush()
                round_id = round_row.id

            results: list[HarvestResult] = []
            pending: list[Polled] = []
            writers = asyncio.Semaphore(WRITERS)

            async def write() -> None:
                # Group commit: a free writer takes everything finished meanwhile and writes it in one transaction.
                async with writers:
                    batch = pending[:]
                    pending.clear()
                    results.extend(await self.harvester.recorder.record(batch, worker=self.worker, round_id=round_id))

            async def one(node: Node) -> None:
                async with self._semaphore:  # held while waiting for a writer: polls slow down when writes lag
                    pending.append(await self.harvester.poll(node))
                    if len(pending) >= WRITE_BATCH:
                        await write()

            await asyncio.gather(*(one(node) for node in claimed))
            await write()
            failures = sum(1 for r in results if r.outcome in ("error", "invalid"))
            flagged = len(results) > 1 and failures * 2 > len(results)
            async with self.db.transaction() as session:
                stored = await session.get(Round, round_id)
                if stored is not None:
                    stored.finished_at, stored.failures, stored.flagged = datetime.now(UTC), failures, flagged
            return RoundSummary(round_id, list(results), flagged)

    async def poll_now(self, cut: str) -> None:
        """Make ``cut`` due at once and run a tick for it (push notices)."""
        async with self.db.transaction() as session:
            await session.execute(update(Node).where(Node.cut == cut).values(next_poll_at=datetime.now(UTC)))
        await self.tick(cuts=[cut])

    async def safe_tick(self) -> RoundSummary | None:
        """A tick that outlives its failures: a database that is away is one log line, not a crash.

        What a tick claimed but could not record is retaken when its leases run out.
        """
        try:
            return await self.tick()
        except Exception as exc:  # noqa: BLE001 (the scheduler keeps ticking; the next tick retries)
            failure = database_failure(exc)
            if failure is None:
                _log.exception("tick.failed")
            else:
                _log.warning("tick.database_unavailable", code=failure.code, detail=failure.detail)
            return None

    def start(self) -> None:
        """Tick every ``tick_seconds`` in the running event loop."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self.safe_tick,
            "interval",
            seconds=self.settings.tick_seconds,
            max_instances=1,
            coalesce=True,
            id="harvest-tick",
            misfire_grace_time=None,
        )
        self._scheduler.start()

    def stop(self) -> None:
        """Stop ticking (a running tick finishes)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
