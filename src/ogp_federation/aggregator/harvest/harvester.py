"""Polling one node: fetch, verify, validate and guard what it publishes — without touching the database.

Network and CPU work happen here, outside any transaction; :class:`~.recorder.Recorder` then writes the
finished polls of a batch in one short transaction.
Decision on invalid feeds: the whole version is rejected (never partially applied), and the last
accepted version keeps being served — good data is never replaced by worse.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import UTC, datetime

import msgspec
from joserfc.jwk import OKPKey
from sqlalchemy import select

from ogp_federation.aggregator.models import FeedVersion, Node
from ogp_federation.aggregator.settings import AggregatorSettings
from ogp_federation.core.db import Database
from ogp_federation.core.errors import OGPError, SignatureError
from ogp_federation.feed import PlanFeed, signing
from ogp_federation.feed.reference import CommuneReference
from ogp_federation.feed.validation import Layer, Report, Severity, validate_feed

from .fetch import Fetcher, FetchFailedError
from .history import snapshot_records
from .outcomes import Candidate, HarvestResult, Polled
from .recorder import ERROR_STATES, Recorder

__all__ = ["ERROR_STATES", "HarvestResult", "Harvester", "Polled"]

SIGNATURE_HEADER = "OGP-Signature"
_THREAD_THRESHOLD = 512 * 1024  # validate big documents off the event loop
_BACKWARDS = {"continuity.sequence_not_increasing", "continuity.generated_at_backwards"}


class _RejectedError(Exception):
    """Internal: a fetched version that must not be applied (invalid, or quarantined with its bytes)."""

    def __init__(self, outcome: str, code: str, message: str, candidate: Candidate | None = None) -> None:
        super().__init__(message)
        self.outcome, self.code, self.message, self.candidate = outcome, code, message, candidate


class Harvester:
    """Polls nodes and records the results; shared by the scheduler, push handling, the CLI and the demo."""

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

    async def harvest(self, claimed: Node, *, worker: str, round_id: int | None = None) -> HarvestResult:
        """Poll one node that ``worker`` has claimed and record the result at once."""
        return (await self.recorder.record([await self.poll(claimed)], worker=worker, round_id=round_id))[0]

    async def poll(self, claimed: Node) -> Polled:
        """Poll one claimed node (the row as claimed); never raises for a node's fault."""
        started = time.perf_counter()
        node = claimed
        if node.circuit_open_until is not None and node.circuit_open_until > datetime.now(UTC):
            skipped = HarvestResult(node.cut, "skipped", "circuit.open")
            return Polled(node, started, skipped, release_until=node.circuit_open_until)
        try:
            result, candidate = await self._poll(node)
        except (FetchFailedError, SignatureError) as exc:
            retry_after = exc.retry_after if isinstance(exc, FetchFailedError) else None
            return Polled(node, started, HarvestResult(node.cut, "error", exc.code, exc.message_en), None, retry_after)
        except _RejectedError as rejected:
            result = HarvestResult(node.cut, rejected.outcome, rejected.code, rejected.message)
            return Polled(node, started, result, rejected.candidate)
        except OGPError as exc:  # e.g. the SSRF guard or DNS
            return Polled(node, started, HarvestResult(node.cut, "error", exc.code, exc.message_en))
        return Polled(node, started, result, candidate)

    async def _previous_body(self, node: Node) -> bytes | None:
        """The bytes of the node's current accepted version (read only when a new body arrived)."""
        if node.current_version_id is None:
            return None
        async with self.db.sessions() as session:
            return await session.scalar(select(FeedVersion.body).where(FeedVersion.id == node.current_version_id))

    async def _poll(self, node: Node) -> tuple[HarvestResult, Candidate | None]:
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
        candidate = Candidate(
            feed=feed,
            body=body,
            signature=signature,
            kid=verified.kid,
            sha256=hashlib.sha256(body).hexdigest(),
            etag=fetched.headers.get("etag"),
            last_modified=fetched.headers.get("last-modified"),
            counts={severity.value: report.count(severity) for severity in Severity},
            records=snapshot_records(feed),
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
