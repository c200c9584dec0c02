"""Recording finished polls: versions, history, the node's health and schedule, in one transaction per batch.

A batch (the polls that finished while the previous batch was being written — group commit) is written
in one short transaction that first locks the batch's nodes and keeps only those this worker still
holds the lease of, so a version is stored once, whole, or not at all. If a batch fails to write, each
poll is retried alone so that one bad poll cannot cost the others their result.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.history import (
    Applied,
    FeedVersion,
    HarvestEvent,
    VersionListener,
    apply_versions,
    dropped_share,
    open_records,
    snapshot_records,
)
from ogp_federation.aggregator.registry import Node
from ogp_federation.core.db import Database
from ogp_federation.core.logs import get_logger
from ogp_federation.feed.reference import CommuneReference

from .schemas import Candidate, HarvestResult, Polled, StateChange

__all__ = ["ERROR_STATES", "Recorder"]

ERROR_STATES = ("failing", "invalid", "quarantined")
_STATE_OF_OUTCOME = {"error": "failing", "invalid": "invalid", "quarantined": "quarantined"}
_log = get_logger("ogp_federation.aggregator")


class Recorder:
    """Writes batches of finished polls; after commit, tells the caller what happened (alerts, metrics)."""

    def __init__(self, db: Database, settings: AggregatorSettings, reference: CommuneReference) -> None:
        self.db = db
        self.settings = settings
        self.reference = reference
        self.on_state_change: Callable[[StateChange], None] | None = None
        self.on_result: Callable[[HarvestResult, float], None] | None = None
        self.listeners: list[VersionListener] = []  # kept current with every accepted version (runtime wires)

    async def record(self, batch: list[Polled], *, worker: str, round_id: int | None) -> list[HarvestResult]:
        """Record ``batch``; the results in the same order (``lost_lease`` where another worker took over)."""
        if not batch:
            return []
        try:
            results, changes = await self._write(batch, worker, round_id)
        except Exception as exc:  # noqa: BLE001 (the database, or something a node sent that no check foresaw)
            if len(batch) > 1:
                _log.warning("record.batch_failed", size=len(batch), error=type(exc).__name__)
                results = []
                for polled in batch:
                    results.extend(await self.record([polled], worker=worker, round_id=round_id))
                return results
            results, changes = await self._record_failure(batch[0], exc, worker, round_id)
        for change in changes:
            if self.on_state_change is not None:
                self.on_state_change(change)
        if self.on_result is not None:
            for polled, result in zip(batch, results, strict=True):
                if result.outcome != "lost_lease":
                    self.on_result(result, time.perf_counter() - polled.started)
        return results

    async def _record_failure(
        self, polled: Polled, exc: Exception, worker: str, round_id: int | None
    ) -> tuple[list[HarvestResult], list[StateChange]]:
        """A poll whose write failed: recorded as an error (nothing of its version kept), retried with backoff."""
        cause = getattr(exc, "orig", None) or exc  # the driver's message, without the statement's parameters
        _log.error(
            "record.failed",
            cut=polled.node.cut,
            error=type(exc).__name__,
            detail=str(cause)[:300],
            exc_info=not isinstance(exc, SQLAlchemyError),  # anything else is a bug: keep its traceback
        )
        message = f"could not store what was fetched ({type(exc).__name__}); it will be fetched again"
        failed = Polled(polled.node, polled.started, HarvestResult(polled.node.cut, "error", "store.failed", message))
        try:
            return await self._write([failed], worker, round_id)
        except SQLAlchemyError:  # the database itself is unreachable: the lease runs out and the node is retried
            _log.exception("record.failed", cut=polled.node.cut)
            return [failed.result], []

    async def _write(
        self, batch: list[Polled], worker: str, round_id: int | None
    ) -> tuple[list[HarvestResult], list[StateChange]]:
        now = datetime.now(UTC)
        changes: list[StateChange] = []
        async with self.db.transaction() as session:
            locked = await session.scalars(
                select(Node).where(Node.id.in_([p.node.id for p in batch])).order_by(Node.id).with_for_update()
            )
            nodes = {node.id: node for node in locked}
            mine = {
                p.node.id: nodes[p.node.id]
                for p in batch
                if p.node.id in nodes and nodes[p.node.id].lease_owner == worker
            }
            decided = await self._store_versions(
                session, [(p, mine[p.node.id]) for p in batch if p.node.id in mine], now
            )
            results: list[HarvestResult] = []
            for polled in batch:
                node = mine.get(polled.node.id)
                if node is None:  # the lease expired and another worker took over: write nothing
                    _log.warning("record.lost_lease", cut=polled.node.cut, worker=worker)
                    results.append(HarvestResult(polled.node.cut, "lost_lease"))
                    continue
                if polled.release_until is not None:
                    node.lease_owner, node.lease_until, node.next_poll_at = None, None, polled.release_until
                    results.append(polled.result)
                    continue
                result = decided.get(node.id, polled.result)
                # Made due again while the poll was underway (a push): that poll may have read the old version.
                asked = node.next_poll_at if node.next_poll_at != polled.node.next_poll_at else None
                self._schedule(node, result, now, polled.retry_after)
                if asked is not None and asked < node.next_poll_at:
                    node.next_poll_at = asked
                if polled.full_fetch and result.outcome in ("accepted", "unchanged"):
                    node.full_fetched_at = now
                change = self._transition(node)
                if change is not None:
                    changes.append(change)
                session.add(
                    HarvestEvent(
                        node_id=node.id,
                        round_id=round_id,
                        at=now,
                        worker=worker,
                        due_at=polled.node.next_poll_at,
                        outcome=result.outcome,
                        code=result.code,
                        message=_storable(result.message),
                        duration_ms=int((time.perf_counter() - polled.started) * 1000),
                        bytes=result.bytes,
                    )
                )
                results.append(result)
        return results, changes

    async def _store_versions(
        self, session: AsyncSession, items: list[tuple[Polled, Node]], now: datetime
    ) -> dict[int, HarvestResult]:
        """Store the batch's fetched versions: accepted ones become current, guarded ones are quarantined."""
        out: dict[int, HarvestResult] = {}
        fresh: list[tuple[Polled, Node, Candidate]] = []
        stored = await _stored(session, [(node, p.candidate) for p, node in items if p.candidate is not None])
        for polled, node in items:
            candidate, result = polled.candidate, polled.result
            if candidate is None:
                continue
            if result.outcome == "quarantined":
                self._quarantine(session, node, candidate, now, _storable(result.message) or "", stored)
            elif node.sequence is not None and candidate.feed.sequence <= node.sequence and not candidate.completes:
                out[node.id] = HarvestResult(node.cut, "unchanged", sequence=node.sequence, bytes=result.bytes)
            else:
                fresh.append((polled, node, candidate))
        if not fresh:
            return out
        fresh = [(polled, node, _rebased(node, candidate)) for polled, node, candidate in fresh]
        # The records each version replaces: those the poll read, unless the node's current version changed since.
        current = {
            node.cut: c.current
            for _, node, c in fresh
            if c.current is not None and c.current_of == node.current_version_id
        }
        whole = [node.cut for _, node, c in fresh if node.cut not in current and c.deleted is None]
        current |= await open_records(session, whole)
        touched = {node.cut: c.records.keys() | c.deleted for _, node, c in fresh if c.deleted is not None}
        current |= await open_records(session, list(touched), only=touched)  # what changed, only
        accepted: list[tuple[Node, Candidate, FeedVersion]] = []
        for polled, node, candidate in fresh:
            share = candidate.dropped
            if share is None:
                share = dropped_share(current[node.cut], candidate.records)
            if share > self.settings.drop_threshold:
                self._quarantine(session, node, candidate, now, f"drops {share:.0%} of the records", stored)
                out[node.id] = HarvestResult(
                    node.cut,
                    "quarantined",
                    "records.dropped",
                    f"version drops {share:.0%} of the previous records",
                    sequence=candidate.feed.sequence,
                    bytes=polled.result.bytes,
                )
                continue
            version = stored.get((node.id, candidate.sha256)) or _version(node, candidate, now)
            version.status, version.accepted_at, version.reason = "accepted", now, None
            session.add(version)
            node.etag, node.last_modified = candidate.etag, candidate.last_modified
            accepted.append((node, candidate, version))
        if accepted:
            await session.flush()  # one INSERT … RETURNING for the batch's versions
            await apply_versions(
                session,
                [
                    Applied(
                        node,
                        version,
                        candidate.records,
                        current[node.cut],
                        candidate.feed,
                        candidate.deleted,
                        candidate.digests,
                    )
                    for node, candidate, version in accepted
                ],
                self.listeners,
            )
        return out

    @staticmethod
    def _quarantine(  # noqa: PLR0917 (internal)
        session: AsyncSession,
        node: Node,
        candidate: Candidate,
        now: datetime,
        reason: str,
        stored: dict[tuple[int, str], FeedVersion],
    ) -> None:
        if (node.id, candidate.sha256) not in stored:  # a replay we already hold is not stored twice
            version = _version(node, candidate, now)
            version.status, version.reason = "quarantined", reason[:2000]
            session.add(version)

    def _schedule(self, node: Node, result: HarvestResult, now: datetime, retry_after: float | None) -> None:
        """The node's health and next poll after ``result`` (backoff and circuit breaker on failures)."""
        settings = self.settings
        node.last_attempt_at = now
        node.lease_owner, node.lease_until = None, None
        interval = timedelta(seconds=node.poll_interval * (1 + settings.jitter * random.random()))
        if result.outcome == "quarantined":
            node.state = "quarantined"
            node.last_error_code, node.last_error_message = result.code, _storable(result.message)
            node.last_error_at = now
            node.next_poll_at = now + interval
        elif result.outcome in ("accepted", "unchanged"):
            if node.failing_since is not None:
                node.last_fix_seconds = int((now - node.failing_since).total_seconds())
            node.state, node.consecutive_failures, node.failing_since = "ok", 0, None
            node.last_success_at, node.circuit_open_until = now, None
            node.next_poll_at = now + interval
        else:
            node.consecutive_failures += 1
            node.state = _STATE_OF_OUTCOME.get(result.outcome, node.state)
            node.failing_since = node.failing_since or now
            node.last_error_code, node.last_error_message = result.code, _storable(result.message)
            node.last_error_at = now
            backoff = settings.retry_base_seconds * 2 ** min(node.consecutive_failures - 1, 10)
            # A node's Retry-After is honoured, but it cannot keep the aggregator away longer than this.
            asked = min(retry_after or 0, max(node.poll_interval, settings.circuit_seconds))
            node.next_poll_at = now + timedelta(seconds=max(asked, min(backoff, node.poll_interval)))
            if node.consecutive_failures >= settings.circuit_failures:
                node.circuit_open_until = now + timedelta(seconds=settings.circuit_seconds)
                node.next_poll_at = node.circuit_open_until

    def _transition(self, node: Node) -> StateChange | None:
        """The state change to alert about: once per error state, once on recovery."""
        old = node.notified_state
        if node.state in ERROR_STATES and old != node.state:
            node.notified_state = node.state
        elif node.state == "ok" and old in ERROR_STATES:
            node.notified_state = "ok"
        else:
            return None
        commune = self.reference.get(node.cut)
        return StateChange(
            cut=node.cut,
            name=commune.name if commune else node.cut,
            old_state=old,
            new_state=node.state,
            code=node.last_error_code if node.state != "ok" else None,
            message=node.last_error_message if node.state != "ok" else None,
            contact_email=node.contact_email,
            webhook_url=node.webhook_url,
        )


async def _stored(session: AsyncSession, items: list[tuple[Node, Candidate]]) -> dict[tuple[int, str], FeedVersion]:
    """Versions already stored with the same bytes as a candidate (a replay, or one quarantined before)."""
    known = [(node, candidate) for node, candidate in items if node.last_attempt_at is not None]
    if not known:  # nothing is stored for a node never polled: spare the query on a first round
        return {}
    rows = await session.scalars(
        select(FeedVersion).where(
            FeedVersion.node_id.in_([node.id for node, _ in known]),
            FeedVersion.sha256.in_([candidate.sha256 for _, candidate in known]),
        )
    )
    return {(row.node_id, row.sha256): row for row in rows}


def _version(node: Node, candidate: Candidate, now: datetime) -> FeedVersion:
    return FeedVersion(
        node_id=node.id,
        cut=node.cut,
        sequence=candidate.feed.sequence,
        generated_at=candidate.feed.generated_at,
        fetched_at=now,
        body=candidate.body,
        signature=candidate.signature,
        kid=candidate.kid,
        sha256=candidate.sha256,
        counts=candidate.counts,
        source=candidate.source,
    )


def _storable(message: str | None) -> str | None:
    """A message for a text column: NUL (which PostgreSQL refuses) written out, cut to 2,000 characters."""
    return message.replace("\x00", "\\u0000")[:2000] if message else None


def _rebased(node: Node, candidate: Candidate) -> Candidate:
    """``candidate`` as it applies to the node's current version, when another version became current after the
    poll compared with it (another worker's): a full feed is then compared with every record again. (A change
    page needs nothing: it brings every record it changed since its base, whatever became current since.)"""
    if candidate.deleted is None or candidate.current_of == node.current_version_id or candidate.source != "feed":
        return candidate
    return dataclasses.replace(
        candidate, records=snapshot_records(candidate.feed), deleted=None, dropped=None, current=None
    )
