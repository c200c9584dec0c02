"""The history's tables: every harvested version (exact signed bytes), record states, diffs and polls.

History is append-only: every accepted (or quarantined) version keeps the exact signed bytes and the
signature; records are normalised into rows valid from one sequence to the next, so any past state is
a range query (``as_of``); the diff between consecutive versions is stored per record; every poll of a
node leaves a harvest event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ogp_federation.aggregator.common import SEQUENCE, AggregatorBase
from ogp_federation.core.db import JSON_DOCUMENT, UTCDateTime

__all__ = ["CurrentDigests", "FeedVersion", "HarvestEvent", "RecordState", "VersionChange"]


class FeedVersion(AggregatorBase):
    """A harvested version: the exact signed bytes, the signature, and what was decided about it."""

    __tablename__ = "feed_versions"
    __table_args__ = (UniqueConstraint("node_id", "sha256"), Index("ix_feed_versions_cut_seq", "cut", "sequence"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    cut: Mapped[str] = mapped_column(String(5))
    sequence: Mapped[int] = mapped_column(SEQUENCE)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
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
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)


class CurrentDigests(AggregatorBase):
    """A digest of every record of a node's current version, in one row.

    A new full feed is compared with this row instead of with every open record state; the row is
    written with each version that becomes current, and a version made current without it (a review's
    approval) removes it, so a stale row is never compared with.
    """

    __tablename__ = "current_digests"

    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("feed_versions.id", ondelete="CASCADE"))
    digests: Mapped[bytes] = mapped_column(LargeBinary)  # MessagePack: {collection: {key: 16-byte digest}}


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
    at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    worker: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(20))  # accepted | unchanged | error | invalid | quarantined
    code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
