"""The aggregator's tables: the registry, the harvest schedule and health, and the full history.

History is append-only: every accepted (or quarantined) version keeps the exact signed bytes and the
signature; records are normalised into rows valid from one sequence to the next, so any past state is
a range query (``as_of``); the diff between consecutive versions is stored per record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ogp_federation.core.db import JSON_DOCUMENT, NAMING

# Sequences may reach 2**53 (the standard): 64-bit columns (SQLite's INTEGER already is).
SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")
# Cache validators a node sends are kept only when they fit (the harvester drops longer ones).
ETAG_LENGTH, LAST_MODIFIED_LENGTH = 200, 100

__all__ = [
    "ETAG_LENGTH",
    "LAST_MODIFIED_LENGTH",
    "AggregatorBase",
    "Commune",
    "FeedVersion",
    "HarvestEvent",
    "Node",
    "PushReceipt",
    "RecordState",
    "Round",
    "VersionChange",
]


class AggregatorBase(DeclarativeBase):
    """Declarative base of the aggregator's tables."""

    metadata = MetaData(naming_convention=NAMING)


class Commune(AggregatorBase):
    """One of the 346 communes, with its peer-group attributes."""

    __tablename__ = "communes"

    cut: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    province_cut: Mapped[str] = mapped_column(String(3))
    province: Mapped[str] = mapped_column(String(100))
    region_cut: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(100))
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subdere_group: Mapped[int | None] = mapped_column(Integer, nullable=True)
    groups: Mapped[list[str]] = mapped_column(JSON_DOCUMENT, default=list)


class Node(AggregatorBase):
    """A registered node of a commune: where it is, which keys are trusted, its schedule and health."""

    __tablename__ = "nodes"
    __table_args__ = (Index("ix_nodes_due", "next_poll_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cut: Mapped[str] = mapped_column(ForeignKey("communes.cut"), unique=True)
    base_url: Mapped[str] = mapped_column(String(2048))
    feed_url: Mapped[str] = mapped_column(String(2048))
    signature_url: Mapped[str] = mapped_column(String(2048))
    jwks_url: Mapped[str] = mapped_column(String(2048))
    changes_template: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    keys: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    keys_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    poll_interval: Mapped[int] = mapped_column(Integer, default=3600)
    next_poll_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    etag: Mapped[str | None] = mapped_column(String(ETAG_LENGTH), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(LAST_MODIFIED_LENGTH), nullable=True)
    sequence: Mapped[int | None] = mapped_column(SEQUENCE, nullable=True)
    current_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="never_harvested")
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    last_error_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    last_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    last_fix_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)  # time to fix, last outage
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    circuit_open_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    full_fetched_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # The last push admitted: the per-node rate limit of /push, shared by every process serving it.
    last_push_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    notified_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class FeedVersion(AggregatorBase):
    """A harvested version: the exact signed bytes, the signature, and what was decided about it."""

    __tablename__ = "feed_versions"
    __table_args__ = (UniqueConstraint("node_id", "sha256"), Index("ix_feed_versions_cut_seq", "cut", "sequence"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    cut: Mapped[str] = mapped_column(String(5))
    sequence: Mapped[int] = mapped_column(SEQUENCE)
    generated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    fetched_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[str] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # accepted | quarantined | discarded
    # feed: body is the full signed feed; changes: body is the signed change page applied to the version before
    source: Mapped[str] = mapped_column(String(10), default="feed", server_default="feed")
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT, default=dict)


class RecordState(AggregatorBase):
    """A record's content while it was valid: from one accepted sequence until the next change."""

    __tablename__ = "record_states"
    __table_args__ = (
        Index("ix_record_states_current", "cut", "entity", "valid_to_seq"),
        Index("ix_record_states_key", "cut", "entity", "key", "valid_from_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cut: Mapped[str] = mapped_column(String(5))
    entity: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    # BLAKE2b-128 of the record's JSON text: versions are compared without decoding the stored data
    digest: Mapped[str | None] = mapped_column(String(32), nullable=True)
    valid_from_seq: Mapped[int] = mapped_column(SEQUENCE)
    valid_to_seq: Mapped[int | None] = mapped_column(SEQUENCE, nullable=True)
    valid_from: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class VersionChange(AggregatorBase):
    """One record added, changed or deleted between an accepted version and the one before it."""

    __tablename__ = "version_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("feed_versions.id", ondelete="CASCADE"), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(10))  # added | changed | deleted
    fields: Mapped[list[str]] = mapped_column(JSON_DOCUMENT, default=list)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOCUMENT, nullable=True)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOCUMENT, nullable=True)


class HarvestEvent(AggregatorBase):
    """One poll of one node: its outcome, code, duration and size (the error history)."""

    __tablename__ = "harvest_events"
    __table_args__ = (Index("ix_harvest_events_node_at", "node_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    round_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    worker: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    outcome: Mapped[str] = mapped_column(String(20))  # accepted | unchanged | error | invalid | quarantined
    code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(Integer, default=0)


class Round(AggregatorBase):
    """A batch of polls claimed together by one worker; flagged when most of it failed."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    nodes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class PushReceipt(AggregatorBase):
    """A push notice accepted from a node (one per node and sequence: replays are ignored)."""

    __tablename__ = "push_receipts"
    __table_args__ = (UniqueConstraint("node_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(SEQUENCE)
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
