"""Scheduled harvesting shared by several aggregator processes on one PostgreSQL.

APScheduler 3.11 runs a short tick in each process (4.0 is still a pre-release, and a 3.x job store
cannot be shared between processes, so the work is split in the database instead). The tick *claims*
due nodes with ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease: a due node is polled by exactly one
process; a crashed process's leases expire and other processes take the work. A push is harvested at
once, in its own lane beside any round underway. A stop ends the harvest underway: finished polls are
recorded, the other nodes are given back, still due.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from sqlalchemy import or_, select, update

from ogp_federation.aggregator.common import CHILE, AggregatorSettings
from ogp_federation.aggregator.registry import Node
from ogp_federation.core.db import Database, database_failure
from ogp_federation.core.errors import DatabaseUnavailableError, NotFoundError
from ogp_federation.core.logs import get_logger

from .group_commit import GroupCommit
from .harvester import Harvester
from .models import Round
from .schemas import HarvestResult, Polled

_log = get_logger("ogp_federation.aggregator")

__all__ = ["PUSH_LANE", "HarvestScheduler", "RoundSummary"]

PUSH_LANE = 8  # polls for push notices at once, beside a round's ``concurrency`` (never queued behind it)
HELD_RETRY_SECONDS = 0.1  # a push waiting for a poll of its node already underway looks again after this,
HELD_RETRY_MAX_SECONDS = 2.0  # …doubling up to this
DAILY_AT = (4, 15)  # the daily jobs' time of day in Chile (a quiet hour)
DAILY_FIRST_RUN_SECONDS = 300


def _logged(job_id: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    """A daily job that logs its failure instead of leaving it to the scheduler's generic message."""

    async def run() -> None:
        try:
            await job()
        except Exception:  # noqa: BLE001 (a daily job fails alone; tomorrow's run tries again)
            _log.exception("daily.failed", job=job_id)

    return run


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
        self._push_lane = asyncio.Semaphore(PUSH_LANE)
        self._harvests: set[asyncio.Task[Any]] = set()  # the tasks harvesting now (drained on stop)
        self._stopping = False
        self._database_away: float | None = None  # since when ticks find the database away (monotonic)
        self._ticking: asyncio.Task[None] | None = None  # the scheduled tick running now
        self._pushed: dict[str, bool] = {}  # nodes whose push is being served here → another push came meanwhile
        # Daily jobs of the features built on the harvest (quality scores): run at DAILY_AT, Chile's time,
        # and once soon after start so that a fresh deployment does not wait a day for its first run.
        self.daily: dict[str, Callable[[], Awaitable[Any]]] = {}

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

    async def make_due(self, cuts: list[str] | None = None) -> int:
        """Make nodes due now, their open circuits closed (every polled node, or those of ``cuts``).

        Returns how many nodes were made due; an unknown or removed CUT is an error naming it.
        """
        async with self.db.transaction() as session:
            found = await _registered(session, cuts)
            await session.execute(
                update(Node).where(Node.cut.in_(found)).values(next_poll_at=datetime.now(UTC), circuit_open_until=None)
            )
        return len(found)

    async def require_registered(self, cuts: list[str]) -> None:
        """An error naming every CUT of ``cuts`` that has no registered node."""
        async with self.db.sessions() as session:
            await _registered(session, cuts)

    async def harvest_due(self, *, cuts: list[str] | None = None) -> list[HarvestResult]:
        """Rounds until nothing is due any more (each due node polled once); the results of them all."""
        results: list[HarvestResult] = []
        while True:
            summary = await self.tick(cuts=cuts)
            results += summary.results
            if len(summary.results) < self.settings.batch_size:
                return results

    async def tick(self, *, cuts: list[str] | None = None) -> RoundSummary:
        """One round: claim what is due and harvest it all (rounds of one process never overlap)."""
        async with self._running:
            claimed = await self.claim(self.settings.batch_size, cuts=cuts)
            return await self._harvest(claimed, self._semaphore)

    async def poll_now(self, cut: str) -> None:
        """Harvest ``cut`` at once (a push), beside any round underway; its open circuit, if any, is closed.

        If a poll of the node is already underway (here or in another process), it may have read the old
        version: the recorder keeps the node due, and this waits for that poll to be recorded and polls again.
        One push of a node is served at a time per process; pushes meanwhile ask it for one more poll.
        """
        async with self.db.transaction() as session:
            await session.execute(
                update(Node).where(Node.cut == cut).values(next_poll_at=datetime.now(UTC), circuit_open_until=None)
            )
        if cut in self._pushed:
            self._pushed[cut] = True  # the push being served polls once more when it is done
            return
        self._pushed[cut] = False
        try:
            await self._poll_when_free(cut)
            while self._pushed[cut]:
                self._pushed[cut] = False
                await self._poll_when_free(cut)
        finally:
            del self._pushed[cut]

    async def _poll_when_free(self, cut: str) -> None:
        """Claim and harvest ``cut`` if due, waiting (with backoff, up to a lease) for a poll of it underway."""
        deadline = time.monotonic() + self.settings.lease_seconds
        wait = HELD_RETRY_SECONDS
        while True:
            held = await self._held(cut)
            claimed = await self.claim(1, cuts=[cut])
            if claimed:
                await self._harvest(claimed, self._push_lane)
                return
            if not held or time.monotonic() > deadline:  # not due (a poll that began after the push ran), or stuck
                return
            await asyncio.sleep(wait)
            wait = min(wait * 2, HELD_RETRY_MAX_SECONDS)

    async def _held(self, cut: str) -> bool:
        """Whether some worker's lease on ``cut`` runs (a poll of it is underway)."""
        async with self.db.sessions() as session:
            until = await session.scalar(select(Node.lease_until).where(Node.cut == cut))
        return until is not None and until > datetime.now(UTC)

    async def _harvest(self, claimed: list[Node], lane: asyncio.Semaphore) -> RoundSummary:
        """Harvest the claimed nodes, unless the scheduler is stopping; what a stop leaves unrecorded is given back."""
        if not claimed:
            return RoundSummary(None, [], False)
        task = asyncio.current_task()
        if task is not None:
            self._harvests.add(task)
        recorded: list[HarvestResult] = []
        try:
            if self._stopping:  # claimed while drain() ran: nothing is polled
                return RoundSummary(None, [], False)
            return await self._round(claimed, lane, recorded)
        finally:
            self._harvests.discard(task)
            await self._release_unrecorded(claimed, recorded)

    async def _round(self, claimed: list[Node], lane: asyncio.Semaphore, recorded: list[HarvestResult]) -> RoundSummary:
        """Poll the claimed nodes, ``lane`` bounding how many at once, recording them in batches into ``recorded``."""
        async with self.db.transaction() as session:
            round_row = Round(worker=self.worker, started_at=datetime.now(UTC), nodes=len(claimed))
            session.add(round_row)
            await session.flush()
            round_id = round_row.id

        async def record(batch: list[Polled]) -> list[HarvestResult]:
            return await self.harvester.recorder.record(batch, worker=self.worker, round_id=round_id)

        commit = GroupCommit(record, recorded)
        unavailable: list[str] = []

        async def one(node: Node) -> None:
            async with lane:  # held while waiting for a writer: polls slow down when writes lag
                try:
                    await commit.add(await self.harvester.poll(node))
                except Exception as exc:
                    if not isinstance(exc, DatabaseUnavailableError) and database_failure(exc) is None:
                        raise
                    unavailable.append(node.cut)  # not recorded: still due, retaken once the database is back

        try:
            await asyncio.gather(*(one(node) for node in claimed))
        finally:
            await commit.close()
        if unavailable:
            _log.warning("round.database_unavailable", unrecorded=len(unavailable))
        failures = sum(1 for r in recorded if r.outcome in ("error", "invalid"))
        flagged = len(recorded) > 1 and failures * 2 > len(recorded)
        async with self.db.transaction() as session:
            stored = await session.get(Round, round_id)
            if stored is not None:
                stored.finished_at, stored.failures, stored.flagged = datetime.now(UTC), failures, flagged
        return RoundSummary(round_id, list(recorded), flagged)

    async def safe_tick(self) -> RoundSummary | None:
        """A tick that outlives its failures: a database that is away is one log line, not a crash.

        What a tick claimed but could not record is retaken when its leases run out.
        """
        try:
            summary = await self.tick()
        except Exception as exc:  # noqa: BLE001 (the scheduler keeps ticking; the next tick retries)
            failure = database_failure(exc)
            if failure is None:
                _log.exception("tick.failed")
            elif self._database_away is None:  # once per outage, not once per tick
                self._database_away = time.monotonic()
                _log.warning("tick.database_unavailable", code=failure.code, detail=failure.detail)
            return None
        if self._database_away is not None:
            _log.info("tick.database_back", seconds=round(time.monotonic() - self._database_away, 1))
            self._database_away = None
        return summary

    async def _release_unrecorded(self, claimed: list[Node], results: list[HarvestResult]) -> None:
        """Give back the leases of claimed nodes whose poll was not recorded (a stop): still due, for anyone."""
        recorded = {result.cut for result in results}
        left = [node.id for node in claimed if node.cut not in recorded]
        if not left:
            return
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    update(Node)
                    .where(Node.id.in_(left), Node.lease_owner == self.worker)
                    .values(lease_owner=None, lease_until=None)
                )
        except Exception as exc:  # noqa: BLE001 (the leases run out by themselves)
            _log.warning("leases.not_released", nodes=len(left), error=type(exc).__name__)

    async def drain(self) -> None:
        """Stop harvesting: finished polls are recorded, the others' leases given back (still due)."""
        self._stopping = True
        running = list(self._harvests)
        for task in running:
            task.cancel()
        ticking = [self._ticking] if self._ticking is not None else []  # (a tick still claiming ends at once)
        await asyncio.gather(*running, *ticking, return_exceptions=True)

    async def _scheduled_tick(self) -> None:
        """The APScheduler job: start a tick unless one runs, and return at once.

        A round longer than ``tick_seconds`` is normal (a few seconds for hundreds of nodes); the job
        returning at once keeps APScheduler from warning every second that a run was skipped.
        """
        if self._ticking is None or self._ticking.done():
            self._ticking = asyncio.create_task(self._quiet_tick())

    async def _quiet_tick(self) -> None:
        """A safe tick that a stop (:meth:`drain`) ends quietly."""
        try:
            await self.safe_tick()
        except asyncio.CancelledError:  # the tick's own task, awaited only by drain()
            _log.info("tick.stopped")

    def start(self) -> None:
        """Tick every ``tick_seconds`` in the running event loop."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self._scheduled_tick,
            "interval",
            seconds=self.settings.tick_seconds,
            max_instances=1,
            coalesce=True,
            id="harvest-tick",
            misfire_grace_time=None,
        )
        for job_id, job in self.daily.items():
            self._scheduler.add_job(
                _logged(job_id, job),
                CronTrigger(hour=DAILY_AT[0], minute=DAILY_AT[1], timezone=CHILE),
                id=job_id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
                next_run_time=datetime.now(UTC) + timedelta(seconds=DAILY_FIRST_RUN_SECONDS),
            )
        self._scheduler.start()

    def stop(self) -> None:
        """Stop starting ticks (:meth:`drain` stops the harvest underway)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None


async def _registered(session: Any, cuts: list[str] | None) -> set[str]:
    """The CUTs of the registered nodes (of ``cuts`` only, every one of which must be registered)."""
    query = select(Node.cut).where(Node.state != "removed")
    if cuts is not None:
        query = query.where(Node.cut.in_(cuts))
    found = set(await session.scalars(query))
    missing = sorted(set(cuts or ()) - found)
    if missing:
        raise NotFoundError(
            f"sin nodo registrado para {', '.join(missing)}", f"no registered node for {', '.join(missing)}"
        )
    return found
