"""What a poll produces, before and after it is recorded, and the state changes recording it makes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ogp_federation.aggregator.history import Digests, OpenRecord, RecordKey, Snapshot
from ogp_federation.aggregator.registry import Node
from ogp_federation.feed import PlanFeed

__all__ = ["Candidate", "HarvestResult", "Polled", "StateChange"]


@dataclass(frozen=True)
class HarvestResult:
    """What one poll did."""

    cut: str
    outcome: str  # accepted | unchanged | error | invalid | quarantined | skipped | lost_lease
    code: str | None = None
    message: str | None = None
    sequence: int | None = None
    bytes: int = 0


@dataclass(frozen=True)
class Candidate:
    """A fetched version that is signed and valid: the exact bytes, and what storing it needs."""

    feed: PlanFeed
    body: bytes
    signature: str
    kid: str
    sha256: str
    etag: str | None
    last_modified: str | None
    counts: dict[str, int]
    records: dict[RecordKey, Snapshot]
    source: str = "feed"  # feed: body is the full feed; changes: body is a change page
    # The full signed feed of a sequence already reached through change pages: stored although not newer.
    completes: bool = False
    # The records of the node's current version as the poll read them, and that version's id: the recorder
    # uses them when the node's current version is still that one (else it reads them again).
    current: dict[RecordKey, OpenRecord] | None = None
    current_of: int | None = None
    # Only what changed (a change page, or a full feed compared by digests): ``records`` holds the records
    # put, ``deleted`` those deleted, ``dropped`` the share of the node's records that is; the rest stays.
    deleted: frozenset[RecordKey] | None = None
    dropped: float | None = None
    digests: Digests | None = None  # of every record of the version, when known


@dataclass(frozen=True)
class Polled:
    """A finished poll of one claimed node, waiting to be recorded with its batch.

    ``release_until`` marks a node that was not polled (its circuit is open): its lease is given back.
    """

    node: Node  # the row as claimed
    started: float
    result: HarvestResult
    candidate: Candidate | None = None
    retry_after: float | None = None
    release_until: datetime | None = None
    full_fetch: bool = False  # the full feed was requested (not only the change feed)


@dataclass(frozen=True)
class StateChange:
    """A node entered an error state or recovered from one: its contact is owed an alert."""

    cut: str
    name: str
    old_state: str | None
    new_state: str
    code: str | None
    message: str | None
    contact_email: str | None
    webhook_url: str | None
