"""Harvesting one node: fetch, verify, validate, guard, store — and record the node's health.

Network and CPU work happen outside database transactions; the write is one short transaction that
first checks this worker still holds the node's lease, so a version is stored once, whole, or not at
all (a killed process leaves nothing half-written, and its lease expires for another worker).
Decision on invalid feeds: the whole version is rejected (never partially applied), and the last
accepted version keeps being served — good data is never replaced by worse.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import msgspec
from joserfc.jwk import OKPKey
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.alerts import Alert
from ogp_federation.aggregator.models import FeedVersion, HarvestEvent, Node
from ogp_federation.aggregator.settings import AggregatorSettings
from ogp_federation.core.db import Database
from ogp_federation.core.errors import OGPError, SignatureError
from ogp_federation.feed import PlanFeed, signing
from ogp_federation.feed.reference import CommuneReference
from ogp_federation.feed.validation import Layer, Report, Severity, validate_feed

from .fetch import Fetcher, FetchFailedError
from .history import current_records, dropped_share, record_accepted, snapshot_records

__all__ = ["ERROR_STATES", "HarvestResult", "Harvester", "Unchanged"]

ERROR_STATES = ("failing", "invalid", "quarantined")
SIGNATURE_HEADER = "OGP-Signature"
_THREAD_THRESHOLD = 512 * 1024  # validate big documents off the event loop
_NODES = cast(Table, Node.__table__)
_EVENTS = cast(Table, HarvestEvent.__table__)
_BACKWARDS = {"continuity.sequence_not_increasing", "continuity.generated_at_backwards"}


@dataclass(frozen=True)
class HarvestResult:
    """What one poll did."""

    cut: str
    outcome: str  # accepted | unchanged | error | invalid | quarantined | skipped | lost_lease
    code: str | None = None
    message: str | None = None
    sequence: int | None = None
    bytes: int = 0


class _RejectedError(Exception):
    """Internal: a fetched version that must not be applied (invalid, or quarantined with its bytes)."""

    def __init__(self, outcome: str, code: str, message: str, candidate: _Candidate | None = None) -> None:
        super().__init__(message)
        self.outcome, self.code, self.message, self.candidate = outcome, code, message, candidate


class Harvester:
    """Polls nodes; shared by the scheduler, push handling, the CLI and the demo."""

    def __init__(
        self,
        db: Database,
        settings: AggregatorSettings,
        fetcher: Fetcher,
        reference: CommuneReference | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.fetcher = fetcher
        self.reference = reference or CommuneReference.packaged()
        self.on_alert: Callable[[Alert], None] | None = None
        self.on_result: Callable[[HarvestResult, float], None] | None = None

    async def harvest(
        self,
        claimed: Node,
        *,
        worker: str,
        round_id: int | None = None,
        unchanged: list[Unchanged] | None = None,
    ) -> HarvestResult:
        """Poll one node that ``worker`` has claimed (the row as claimed); never raises for a node's fault.

        With ``unchanged``, a healthy node's 304 is not written at once but appended there, for
        :meth:`finish_unchanged` to record the whole batch in one transaction.
        """
        started = time.perf_counter()
        node, node_id, due_at = claimed, claimed.id, claimed.next_poll_at
        now = datetime.now(UTC)
        if node.circuit_open_until is not None and node.circuit_open_until > now:
            await self._release(node_id, worker, node.circuit_open_until)
            return HarvestResult(node.cut, "skipped", "circuit.open")
        try:
            result, version = await self._poll(node)
        except (FetchFailedError, SignatureError) as exc:
            result, version = HarvestResult(node.cut, "error", exc.code, exc.message_en), None
            retry_after = exc.retry_after if isinstance(exc, FetchFailedError) else None
            return await self._finish(node_id, worker, due_at, round_id, started, result, retry_after=retry_after)
        except _RejectedError as rejected:
            result = HarvestResult(node.cut, rejected.outcome, rejected.code, rejected.message)
            return await self._finish(node_id, worker, due_at, round_id, started, result, version=rejected.candidate)
        except OGPError as exc:  # e.g. the SSRF guard or DNS
            result = HarvestResult(node.cut, "error", exc.code, exc.message_en)
            return await self._finish(node_id, worker, due_at, round_id, started, result)
        if unchanged is not None and result.outcome == "unchanged" and node.state == "ok":
            unchanged.append(Unchanged(node, result, started))
            return result
        return await self._finish(node_id, worker, due_at, round_id, started, result, version=version)

    async def finish_unchanged(self, batch: list[Unchanged], *, worker: str, round_id: int | None) -> None:
        """Record a batch of healthy 304s: three statements, whatever the batch size."""
        if not batch:
            return
        now = datetime.now(UTC)
        ids = [item.node.id for item in batch]
        async with self.db.transaction() as session:
            still_mine = set(
                await session.scalars(
                    select(Node.id).where(Node.id.in_(ids), Node.lease_owner == worker).with_for_update()
                )
            )
            mine = [item for item in batch if item.node.id in still_mine]
            if not mine:
                return
            jitter = self.settings.jitter
            await session.execute(
                update(_NODES)
                .where(_NODES.c.id == bindparam("node_id"))
                .values(
                    next_poll_at=bindparam("next_poll_at"),
                    last_attempt_at=now,
                    last_success_at=now,
                    consecutive_failures=0,
                    lease_owner=None,
                    lease_until=None,
                ),
                [
                    {
                        "node_id": item.node.id,
                        "next_poll_at": now
                        + timedelta(seconds=item.node.poll_interval * (1 + jitter * random.random())),
                    }
                    for item in mine
                ],
            )
            await session.execute(
                insert(_EVENTS),
                [
                    {
                        "node_id": item.node.id,
                        "round_id": round_id,
                        "at": now,
                        "worker": worker,
                        "due_at": item.node.next_poll_at,
                        "outcome": "unchanged",
                        "code": None,
                        "message": None,
                        "duration_ms": int((time.perf_counter() - item.started) * 1000),
                        "bytes": item.result.bytes,
                    }
                    for item in mine
                ],
            )
        if self.on_result is not None:
            for item in mine:
                self.on_result(item.result, time.perf_counter() - item.started)

    async def _release(self, node_id: int, worker: str, until: datetime) -> None:
        """Give back a claimed node without polling it (its circuit is open until ``until``)."""
        async with self.db.transaction() as session:
            await session.execute(
                update(Node)
                .where(Node.id == node_id, Node.lease_owner == worker)
                .values(lease_owner=None, lease_until=None, next_poll_at=until)
            )

    async def _previous_body(self, node: Node) -> bytes | None:
        """The bytes of the node's current accepted version (read only when a new body arrived)."""
        if node.current_version_id is None:
            return None
        async with self.db.sessions() as session:
            return await session.scalar(select(FeedVersion.body).where(FeedVersion.id == node.current_version_id))

    async def _poll(self, node: Node) -> tuple[HarvestResult, _Candidate | None]:
        headers = {}
        if node.etag and node.current_version_id is not None:
            headers["If-None-Match"] = node.etag
        if node.last_modified and node.current_version_id is not None:
            headers["If-Modified-Since"] = node.last_modified
        fetched = await self.fetcher.get(node.feed_url, headers)
        if fetched.status == 304:
            return HarvestResult(node.cut, "unchanged", sequence=node.sequence), None
        body = fetched.body
        previous_body = await self._previous_body(node)
        if previous_body is not None and body == previous_body:
            return HarvestResult(node.cut, "unchanged", sequence=node.sequence, bytes=fetched.wire_bytes), None
        self._check_json(body)
        signature = fetched.headers.get(SIGNATURE_HEADER)
        if not signature:
            signature = (await self.fetcher.get(node.signature_url)).body.decode("ascii", "replace").strip()
        verified = await self._verify(node, body, signature)
        report, feed = await self._validate(body, previous_body)
        blocking = [f for f in report.findings if f.severity.blocking]
        if blocking and blocking[0].layer is Layer.WELL_FORMEDNESS:
            raise _RejectedError("invalid", "body.malformed_json", f"{blocking[0].rule}: {blocking[0].message_en}")
        if blocking and not {f.rule for f in blocking} <= _BACKWARDS:
            first = blocking[0]
            raise _RejectedError(
                "invalid",
                "feed.invalid",
                f"{len(blocking)} blocking finding(s); first {first.rule} at {first.path}: {first.message_en}",
            )
        if feed is None:  # cannot happen: a report without blocking structure findings comes with its feed
            raise _RejectedError("invalid", "feed.invalid", "the feed could not be decoded")
        candidate = _Candidate(
            feed=feed,
            body=body,
            signature=signature,
            kid=verified.kid,
            etag=fetched.headers.get("etag"),
            last_modified=fetched.headers.get("last-modified"),
            counts={severity.value: report.count(severity) for severity in Severity},
        )
        if blocking:  # signed and well-formed, but older than what we have: keep it for an admin to look at
            raise _RejectedError(
                "quarantined", "sequence.backwards", f"{blocking[0].rule}: {blocking[0].message_en}", candidate
            )
        return HarvestResult(
            node.cut, "accepted", sequence=candidate.feed.sequence, bytes=fetched.wire_bytes
        ), candidate

    @staticmethod
    def _check_json(body: bytes) -> None:
        """Name the commonest breakages plainly before anything else looks at the body."""
        if body.lstrip()[:1] != b"{":
            kind = "HTML" if body.lstrip()[:1] == b"<" else "not a JSON object"
            raise _RejectedError("invalid", "body.not_json", f"the feed URL returned {kind}")

    async def _verify(self, node: Node, body: bytes, signature: str) -> signing.VerifiedSignature:
        keys = signing.load_jwks(json.dumps(node.keys))
        try:
            return signing.verify(body, signature, keys)
        except SignatureError as exc:
            if exc.code != "signature.unknown_key":
                raise
        rotated = await self._rotated_keys(node, keys)
        return signing.verify(body, signature, signing.load_jwks(json.dumps(rotated)))

    async def _rotated_keys(self, node: Node, pinned: dict[str, OKPKey]) -> dict[str, object]:
        """The node's new JWKS, accepted only when a currently pinned key endorsed it."""
        jwks = await self.fetcher.get(node.jwks_url)
        endorsements = await self.fetcher.get(node.jwks_url + ".sig")
        try:
            signatures = msgspec.json.decode(endorsements.body, type=list[str])
        except msgspec.DecodeError as exc:
            raise SignatureError("endoso ilegible", "unreadable JWKS endorsement", code="keys.unendorsed") from exc
        for token in signatures:
            try:
                signing.verify(jwks.body, token, pinned)
            except SignatureError:
                continue
            document: dict[str, object] = json.loads(jwks.body)
            async with self.db.transaction() as session:
                stored = await session.get(Node, node.id)
                if stored is not None:
                    stored.keys = document
            node.keys = document
            return document
        raise SignatureError(
            "clave desconocida y el JWKS nuevo no está endosado por una clave fijada",
            "unknown key, and the new JWKS is not endorsed by a pinned key",
            code="signature.unknown_key",
        )

    async def _validate(self, body: bytes, previous: bytes | None) -> tuple[Report, PlanFeed | None]:
        if len(body) > _THREAD_THRESHOLD:
            return await asyncio.to_thread(validate_feed, body, previous, reference=self.reference)
        return validate_feed(body, previous, reference=self.reference)

    async def _finish(  # noqa: PLR0917 (internal; the call sites read better positionally)
        self,
        node_id: int,
        worker: str,
        due_at: datetime,
        round_id: int | None,
        started: float,
        result: HarvestResult,
        *,
        version: _Candidate | None = None,
        retry_after: float | None = None,
    ) -> HarvestResult:
        now = datetime.now(UTC)
        settings = self.settings
        async with self.db.transaction() as session:
            node = await session.scalar(select(Node).where(Node.id == node_id).with_for_update())
            if node is None or node.lease_owner != worker:  # the lease expired and another worker took over
                return HarvestResult(result.cut, "lost_lease")
            if version is not None and result.outcome == "quarantined":
                await self._quarantine(session, node, version, now, result.message or "")
            elif version is not None:
                result = await self._store(session, node, version, now, result)
            node.last_attempt_at = now
            interval = timedelta(seconds=node.poll_interval * (1 + settings.jitter * random.random()))
            if result.outcome == "quarantined":
                node.state = "quarantined"
                node.last_error_code, node.last_error_message, node.last_error_at = result.code, result.message, now
                node.next_poll_at = now + interval
            elif result.outcome in ("accepted", "unchanged"):
                if node.failing_since is not None:
                    node.last_fix_seconds = int((now - node.failing_since).total_seconds())
                node.state, node.consecutive_failures, node.failing_since = "ok", 0, None
                node.last_success_at, node.circuit_open_until = now, None
                if version is not None and result.outcome == "accepted":
                    node.etag, node.last_modified = version.etag, version.last_modified
                node.next_poll_at = now + interval
            else:
                node.consecutive_failures += 1
                node.state = {"error": "failing", "invalid": "invalid", "quarantined": "quarantined"}.get(
                    result.outcome, node.state
                )
                node.failing_since = node.failing_since or now
                node.last_error_code, node.last_error_message, node.last_error_at = result.code, result.message, now
                backoff = settings.retry_base_seconds * 2 ** min(node.consecutive_failures - 1, 10)
                delay = max(retry_after or 0, min(backoff, node.poll_interval))
                node.next_poll_at = now + timedelta(seconds=delay)
                if node.consecutive_failures >= settings.circuit_failures:
                    node.circuit_open_until = now + timedelta(seconds=settings.circuit_seconds)
                    node.next_poll_at = node.circuit_open_until
            node.lease_owner, node.lease_until = None, None
            alert = self._transition(node)
            session.add(
                HarvestEvent(
                    node_id=node_id,
                    round_id=round_id,
                    at=now,
                    worker=worker,
                    due_at=due_at,
                    outcome=result.outcome,
                    code=result.code,
                    message=(result.message or "")[:2000] or None,
                    duration_ms=int((time.perf_counter() - started) * 1000),
                    bytes=result.bytes,
                )
            )
        if alert is not None and self.on_alert is not None:
            self.on_alert(alert)
        if self.on_result is not None:
            self.on_result(result, time.perf_counter() - started)
        return result

    def _transition(self, node: Node) -> Alert | None:
        """The alert owed for the node's new state: once per error state, once on recovery."""
        old = node.notified_state
        if node.state in ERROR_STATES and old != node.state:
            node.notified_state = node.state
        elif node.state == "ok" and old in ERROR_STATES:
            node.notified_state = "ok"
        else:
            return None
        commune = self.reference.get(node.cut)
        return Alert(
            cut=node.cut,
            name=commune.name if commune else node.cut,
            old_state=old,
            new_state=node.state,
            code=node.last_error_code if node.state != "ok" else None,
            message=node.last_error_message if node.state != "ok" else None,
            contact_email=node.contact_email,
            webhook_url=node.webhook_url,
        )

    @staticmethod
    async def _quarantine(session: AsyncSession, node: Node, candidate: _Candidate, now: datetime, reason: str) -> None:
        sha256 = hashlib.sha256(candidate.body).hexdigest()
        existing = await session.scalar(
            select(FeedVersion.id).where(FeedVersion.node_id == node.id, FeedVersion.sha256 == sha256)
        )
        if existing is None:  # a replay of a version we already hold is not stored twice
            session.add(
                FeedVersion(
                    node_id=node.id,
                    cut=node.cut,
                    sequence=candidate.feed.sequence,
                    generated_at=candidate.feed.generated_at,
                    fetched_at=now,
                    body=candidate.body,
                    signature=candidate.signature,
                    kid=candidate.kid,
                    sha256=sha256,
                    status="quarantined",
                    reason=reason[:2000],
                    counts=candidate.counts,
                )
            )

    async def _store(
        self, session: AsyncSession, node: Node, candidate: _Candidate, now: datetime, result: HarvestResult
    ) -> HarvestResult:
        if node.sequence is not None and candidate.feed.sequence <= node.sequence:
            return HarvestResult(node.cut, "unchanged", sequence=node.sequence, bytes=result.bytes)
        previous = await current_records(session, node.cut)
        new = snapshot_records(candidate.feed)
        share = dropped_share(previous, new)
        sha256 = hashlib.sha256(candidate.body).hexdigest()
        if share > self.settings.drop_threshold:
            await self._quarantine(session, node, candidate, now, f"drops {share:.0%} of the records")
            return HarvestResult(
                node.cut,
                "quarantined",
                "records.dropped",
                f"version drops {share:.0%} of the previous records",
                sequence=candidate.feed.sequence,
                bytes=result.bytes,
            )
        await record_accepted(
            session,
            node,
            candidate.feed,
            body=candidate.body,
            signature=candidate.signature,
            kid=candidate.kid,
            sha256=sha256,
            fetched_at=now,
            counts=candidate.counts,
            current=previous,
            new=new,
        )
        return result


@dataclass(frozen=True)
class Unchanged:
    """A healthy node's 304, waiting to be recorded with its batch."""

    node: Node
    result: HarvestResult
    started: float


@dataclass(frozen=True)
class _Candidate:
    """A verified, valid version about to be stored."""

    feed: PlanFeed
    body: bytes
    signature: str
    kid: str
    etag: str | None
    last_modified: str | None
    counts: dict[str, int]
