"""Polling one node: fetch, verify, validate and guard what it publishes.

Network and CPU work happen here, outside any transaction (the poll only reads the current version, and
writes nothing but a key rotation endorsed by a pinned key); :class:`~.recorder.Recorder` then writes the
finished polls of a batch in one short transaction.
Decision on invalid feeds: the whole version is rejected (never partially applied), and the last
accepted version keeps being served — good data is never replaced by worse.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from joserfc.jwk import OKPKey
from sqlalchemy import select

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.history import (
    Digests,
    FeedVersion,
    OpenRecord,
    RecordKey,
    body_digests,
    current_feed,
    known_digests,
    open_records,
    snapshot_records,
)
from ogp_federation.aggregator.net import Fetcher, FetchFailedError
from ogp_federation.aggregator.registry import ETAG_LENGTH, LAST_MODIFIED_LENGTH, Node, remember_keys
from ogp_federation.core.db import Database, database_failure
from ogp_federation.core.errors import DatabaseUnavailableError, OGPError, SignatureError
from ogp_federation.core.logs import get_logger
from ogp_federation.feed import PlanFeed, signing
from ogp_federation.feed.changes import ChangeError
from ogp_federation.feed.entities import COLLECTIONS, keys_by_collection
from ogp_federation.feed.protocol import SIGNATURE_HEADER, ChangePage
from ogp_federation.feed.reference import CommuneReference
from ogp_federation.feed.validation import Finding, Layer, Predecessor, Report, Severity, validate_feed
from ogp_federation.feed.validation.incremental import validate_change

from .recorder import Recorder
from .schemas import Candidate, HarvestResult, Polled

__all__ = ["MAX_ENDORSEMENTS", "Harvester"]

_THREAD_THRESHOLD = 512 * 1024  # validate big documents off the event loop
MAX_ENDORSEMENTS = signing.MAX_JWKS_KEYS  # signatures over a new JWKS: one per key it may hold
_log = get_logger("ogp_federation.aggregator")
_BACKWARDS = {"continuity.sequence_not_increasing", "continuity.generated_at_backwards"}


class _RejectedError(Exception):
    """Internal: a fetched version that must not be applied (invalid, or quarantined with its bytes)."""

    def __init__(self, outcome: str, code: str, message: str, candidate: Candidate | None = None) -> None:
        super().__init__(message)
        self.outcome, self.code, self.message, self.candidate = outcome, code, message, candidate


@dataclass(frozen=True)
class _FullVersion:
    """The latest accepted full feed of a node (not its bytes), and whether it is the current version."""

    id: int
    sequence: int
    generated_at: datetime
    sha256: str
    current: bool
    known: Digests | None  # the digests of the node's current version (this one or a change page's since)


@dataclass(frozen=True)
class _Current:
    """The node's current version as a new full feed is compared with it: its digests (``known``) or, without
    them, its open records; and what continuity checks the new feed against."""

    records: dict[RecordKey, OpenRecord] | None
    known: Digests | None
    predecessor: Predecessor | None


class _ChangesUnusableError(Exception):
    """Internal: the change feed cannot be used this time (the full feed is read instead)."""


class Harvester:
    """Polls nodes (its :class:`Recorder` writes the results); shared by the scheduler, push, the CLI and the demo."""

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
        self.recorder = Recorder(db, settings, self.reference)
        # A poll is several requests (change page, feed, signature, keys), each within the fetch timeouts;
        # together they must end before the lease does, or another worker would poll the node as well.
        self.poll_budget = min(settings.poll_timeout, 0.8 * settings.lease_seconds)

    async def poll(self, claimed: Node) -> Polled:
        """Poll one claimed node (the row as claimed); never raises for a node's fault."""
        started = time.perf_counter()
        node = claimed
        if node.circuit_open_until is not None and node.circuit_open_until > datetime.now(UTC):
            skipped = HarvestResult(node.cut, "skipped", "circuit.open")
            return Polled(node, started, skipped, release_until=node.circuit_open_until)
        try:
            result, candidate, full = await self._poll_in_time(node)
        except (FetchFailedError, SignatureError) as exc:
            retry_after = exc.retry_after if isinstance(exc, FetchFailedError) else None
            return Polled(node, started, HarvestResult(node.cut, "error", exc.code, exc.message_en), None, retry_after)
        except _RejectedError as rejected:
            result = HarvestResult(node.cut, rejected.outcome, rejected.code, rejected.message)
            return Polled(node, started, result, rejected.candidate, full_fetch=True)
        except DatabaseUnavailableError:
            raise  # not the node's fault: the round leaves it unrecorded, still due
        except OGPError as exc:  # e.g. the SSRF guard or DNS
            return Polled(node, started, HarvestResult(node.cut, "error", exc.code, exc.message_en))
        except Exception:  # noqa: BLE001 (a bug some node's data reached: this poll fails, the round goes on)
            _log.exception("poll.unexpected", cut=node.cut)
            message = "unexpected error while polling; it is logged for the operators"
            return Polled(node, started, HarvestResult(node.cut, "error", "internal.error", message))
        return Polled(node, started, result, candidate, full_fetch=full)

    async def _poll_in_time(self, node: Node) -> tuple[HarvestResult, Candidate | None, bool]:
        """:meth:`_poll` within the poll's budget (``timeout.poll`` past it)."""
        budget = asyncio.timeout(self.poll_budget)
        try:
            async with budget:
                return await self._poll(node)
        except TimeoutError as exc:
            if not budget.expired():  # a timeout of something else (the database): not the node's fault
                raise
            message = f"the poll (all its requests) took longer than {self.poll_budget:.0f} s"
            raise FetchFailedError("timeout.poll", message) from exc

    async def _last_full(self, node: Node) -> _FullVersion | None:
        """The node's latest accepted full feed (``None`` before the first), and its current version's digests."""
        if node.current_version_id is None:
            return None
        async with _database_work(), self.db.sessions() as session:
            known = await known_digests(session, node.id, node.current_version_id)
            row = (
                await session.execute(
                    select(FeedVersion.id, FeedVersion.sequence, FeedVersion.generated_at, FeedVersion.sha256)
                    .where(
                        FeedVersion.node_id == node.id, FeedVersion.status == "accepted", FeedVersion.source == "feed"
                    )
                    .order_by(FeedVersion.sequence.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        current = row.id == node.current_version_id
        return _FullVersion(row.id, row.sequence, row.generated_at, row.sha256, current, known)

    async def _predecessor(self, node: Node, last: _FullVersion | None) -> _Current:
        """What the new full feed is compared with, and what continuity checks it against.

        Continuity is checked against what is stored, not by decoding the last document again: the records
        of the current version (change pages included), after the last full feed's sequence. They come from
        the node's row of digests (one read) or, without it, from every open record state.
        """
        if last is None or node.current_version_id is None:
            return _Current(None, None, None)  # (the recorder reads the open records, if any, itself)
        known = last.known
        current = None
        if known is None:
            async with _database_work(), self.db.sessions() as session:
                current = (await open_records(session, [node.cut]))[node.cut]
        keys: dict[str, list[str]] = {}
        for entity, key in known if known is not None else current or {}:
            keys.setdefault(entity, []).append(key)
        return _Current(current, known, Predecessor(node.cut, last.sequence, last.generated_at, keys))

    async def _poll(self, node: Node) -> tuple[HarvestResult, Candidate | None, bool]:
        """Through the change feed when it can be used, else the full feed; says whether the full feed was read."""
        url = self._changes_url(node)
        if url is not None:
            try:
                result, candidate = await self._poll_changes(node, url)
            except _ChangesUnusableError as exc:
                # The full feed is verified on its own: a broken change feed costs bandwidth, not correctness.
                _log.warning("changes.unusable", cut=node.cut, reason=str(exc))
            else:
                return result, candidate, False
        result, candidate = await self._poll_feed(node)
        return result, candidate, True

    def _changes_url(self, node: Node) -> str | None:
        """The change feed URL after the current sequence, for a healthy node whose full feed is recent enough."""
        refreshed = node.full_fetched_at
        usable = (
            node.current_version_id is not None
            and node.state == "ok"
            and refreshed is not None
            and datetime.now(UTC) - refreshed < timedelta(seconds=self.settings.full_refresh_seconds)
        )
        if not usable or node.changes_template is None or node.sequence is None:
            return None
        return node.changes_template.replace("{sequence}", str(node.sequence))

    async def _poll_changes(self, node: Node, url: str) -> tuple[HarvestResult, Candidate | None]:
        """One signed change page since the current sequence, applied to the current version and validated."""
        try:
            fetched = await self.fetcher.get(url)
            signature = fetched.headers.get(SIGNATURE_HEADER)
            if not signature:
                signature = (await self.fetcher.get(url + ".sig")).body.decode("ascii", "replace").strip()
            verified = await self._verify(node, fetched.body, signature)
        except (FetchFailedError, SignatureError) as exc:
            raise _ChangesUnusableError(exc.code) from exc
        try:
            page = msgspec.json.decode(fetched.body, type=ChangePage)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise _ChangesUnusableError(f"changes.invalid: {exc}") from exc
        if page.cut != node.cut or page.since != node.sequence or page.until < node.sequence:
            raise _ChangesUnusableError(f"changes.mismatch: page for {page.cut} from {page.since} to {page.until}")
        if page.until == node.sequence and not page.changes:
            return HarvestResult(node.cut, "unchanged", sequence=node.sequence, bytes=fetched.wire_bytes), None
        if page.next is not None:
            raise _ChangesUnusableError("changes.paginated: more than one page of changes")
        base, base_counts = await self._current_feed(node)
        try:
            changed = validate_change(base, page, fetched.body, reference=self.reference)
        except ChangeError as exc:
            raise _ChangesUnusableError(f"changes.inapplicable: {exc}") from exc
        if not changed.report.valid:
            raise _ChangesUnusableError("changes.invalid: the version they make has blocking findings")
        feed = changed.feed
        touched = {(change.entity.value, change.id) for change in page.changes}
        records = snapshot_records(feed, touched)
        deleted = frozenset(touched - records.keys())
        had = sum(len(collection.records(base)) for collection in COLLECTIONS)
        live = keys_by_collection(base) if deleted else {}
        gone = sum(1 for entity, key in deleted if key in live[entity])
        candidate = Candidate(
            feed=feed,
            body=fetched.body,
            signature=signature,
            kid=verified.kid,
            sha256=hashlib.sha256(fetched.body).hexdigest(),
            etag=node.etag,
            last_modified=node.last_modified,
            counts=changed.counts(base_counts),
            records=records,
            source="changes",
            current_of=node.current_version_id,
            deleted=deleted,
            dropped=gone / had if had else 0.0,
            # (no digests: the node's row is removed, and its next full feed, a day on, is compared in full;
            # keeping the row current would cost every change page more than it saves that one poll)
        )
        return HarvestResult(node.cut, "accepted", sequence=feed.sequence, bytes=fetched.wire_bytes), candidate

    async def _current_feed(self, node: Node) -> tuple[PlanFeed, dict[str, int]]:
        """The node's current version as a feed (its last full feed with the accepted change pages since) and
        that version's findings per severity (the base a change page's are counted from)."""
        async with _database_work(), self.db.sessions() as session:
            found = await current_feed(session, node.cut)
            counts = await session.scalar(select(FeedVersion.counts).where(FeedVersion.id == node.current_version_id))
        if found is None:
            raise _ChangesUnusableError("changes.no_base: no accepted full feed to apply them to")
        feed, _ = found
        if feed.sequence != node.sequence:  # (a stored page that does not replay stops the history short)
            raise _ChangesUnusableError(f"changes.no_base: history reaches {feed.sequence}, not {node.sequence}")
        counts = counts or {}
        if any(counts.get(severity.value) for severity in Severity if severity.blocking):
            # (never for a version accepted by this ruleset: a change page is validated against a valid base)
            raise _ChangesUnusableError("changes.no_base: the current version has blocking findings")
        return feed, counts

    async def _poll_feed(self, node: Node) -> tuple[HarvestResult, Candidate | None]:
        headers = {}
        if node.etag and node.current_version_id is not None:
            headers["If-None-Match"] = node.etag
        if node.last_modified and node.current_version_id is not None:
            headers["If-Modified-Since"] = node.last_modified
        fetched = await self.fetcher.get(node.feed_url, headers)
        if fetched.status == 304:
            return HarvestResult(node.cut, "unchanged", sequence=node.sequence), None
        body = fetched.body
        sha256 = hashlib.sha256(body).hexdigest()
        last = await self._last_full(node)
        if last is not None and last.current and sha256 == last.sha256:
            return HarvestResult(node.cut, "unchanged", sequence=node.sequence, bytes=fetched.wire_bytes), None
        self._check_json(body)
        signature = fetched.headers.get(SIGNATURE_HEADER)
        if not signature:
            signature = (await self.fetcher.get(node.signature_url)).body.decode("ascii", "replace").strip()
        verified = await self._verify(node, body, signature)
        compared = await self._predecessor(node, last)
        report, decoded = await self._validate(body, compared.predecessor)
        blocking, feed = self._blocking(report, decoded, node)
        if len(body) > _THREAD_THRESHOLD:
            digests = await asyncio.to_thread(body_digests, body, feed)
        else:
            digests = body_digests(body, feed)
        if compared.known is not None and digests is not None:  # store the records whose digest moved, only
            known = compared.known
            records = snapshot_records(feed, {key for key, digest in digests.items() if known.get(key) != digest})
            deleted: frozenset[RecordKey] | None = frozenset(known.keys() - digests.keys())
            dropped: float | None = len(deleted or ()) / len(known) if known else 0.0
        else:
            records, deleted, dropped = snapshot_records(feed), None, None
        candidate = Candidate(
            feed=feed,
            body=body,
            signature=signature,
            kid=verified.kid,
            sha256=sha256,
            etag=_validator(fetched.headers.get("etag"), ETAG_LENGTH),
            last_modified=_validator(fetched.headers.get("last-modified"), LAST_MODIFIED_LENGTH),
            counts={severity.value: report.count(severity) for severity in Severity},
            records=records,
            completes=last is not None and not last.current and feed.sequence == node.sequence,
            current=compared.records,
            current_of=node.current_version_id,
            deleted=deleted,
            dropped=dropped,
            digests=digests,
        )
        if blocking:  # signed and well-formed, but older than what we have: keep it for an admin to look at
            raise _RejectedError(
                "quarantined", "sequence.backwards", f"{blocking[0].rule}: {blocking[0].message_en}", candidate
            )
        if node.sequence is not None and feed.sequence < node.sequence:  # older than a version from change pages
            message = f"sequence {feed.sequence} is older than the accepted {node.sequence}"
            raise _RejectedError("quarantined", "sequence.backwards", message, candidate)
        return HarvestResult(
            node.cut, "accepted", sequence=candidate.feed.sequence, bytes=fetched.wire_bytes
        ), candidate

    @staticmethod
    def _blocking(report: Report, feed: PlanFeed | None, node: Node) -> tuple[list[Finding], PlanFeed]:
        """Reject an invalid feed; the blocking findings left are those of a feed older than the current one."""
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
        if feed.publisher.cut != node.cut:  # (continuity says so too, but not of a node's first version)
            message = f"the feed is published by commune {feed.publisher.cut}, not by {node.cut}"
            raise _RejectedError("invalid", "feed.wrong_publisher", message)
        return blocking, feed

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
        if len(signatures) > MAX_ENDORSEMENTS:  # each one costs a signature check
            raise SignatureError(
                f"más de {MAX_ENDORSEMENTS} endosos del JWKS",
                f"more than {MAX_ENDORSEMENTS} JWKS endorsements",
                code="keys.unendorsed",
            )
        for token in signatures:
            try:
                signing.verify(jwks.body, token, pinned)
            except SignatureError:
                continue
            document: dict[str, object] = dict(signing.pinned_jwks(signing.load_jwks(jwks.body)))
            async with _database_work(), self.db.transaction() as session:
                stored = await session.get(Node, node.id)
                if stored is not None:
                    stored.keys = document
                    await remember_keys(session, node.cut, document)
            node.keys = document
            return document
        raise SignatureError(
            "clave desconocida y el JWKS nuevo no está endosado por una clave fijada",
            "unknown key, and the new JWKS is not endorsed by a pinned key",
            code="signature.unknown_key",
        )

    async def _validate(self, body: bytes, previous: PlanFeed | Predecessor | None) -> tuple[Report, PlanFeed | None]:
        if len(body) > _THREAD_THRESHOLD:
            return await asyncio.to_thread(validate_feed, body, previous, reference=self.reference)
        return validate_feed(body, previous, reference=self.reference)


@asynccontextmanager
async def _database_work() -> AsyncIterator[None]:
    """Around the poll's own reads and writes: a database that cannot be used is raised as
    :class:`DatabaseUnavailableError`, which is never counted against the node."""
    try:
        yield
    except Exception as exc:
        failure = database_failure(exc)
        if failure is None:
            raise
        raise failure from exc


def _validator(value: str | None, limit: int) -> str | None:
    """A cache validator the node sent, if it fits its column; a longer one is dropped (the next GET is plain)."""
    return value if value is not None and len(value) <= limit else None
