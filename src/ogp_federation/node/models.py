"""The node's tables.

Plan records are stored as their Plan Feed JSON (one row per record, validated by the standard's own
types), so the feed package stays the only definition of what a record holds. Every published change
gets the next sequence; each row remembers the sequence that last changed it, which makes the change
feed a range query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ogp_federation.core.db import JSON_DOCUMENT, NAMING, UTCDateTime

__all__ = [
    "ApiToken",
    "Draft",
    "EvidenceFile",
    "MilestoneStatusChange",
    "NodeBase",
    "NodeState",
    "Publication",
    "RecordRow",
    "User",
]


class NodeBase(DeclarativeBase):
    """Declarative base of the node's tables."""

    metadata = MetaData(naming_convention=NAMING)


class NodeState(NodeBase):
    """The single row holding the current sequence; locked while a change is published."""

    __tablename__ = "node_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)


class RecordRow(NodeBase):
    """One plan record (live, or deleted and kept as a tombstone)."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("entity", "key"),
        Index("ix_records_changed_seq", "changed_seq", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    changed_seq: Mapped[int] = mapped_column(Integer)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(64))


class Publication(NodeBase):
    """A published, signed feed: the exact bytes served, kept for the latest sequences."""

    __tablename__ = "publications"

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[str] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")


class MilestoneStatusChange(NodeBase):
    """Every status change of a milestone, with when and who."""

    __tablename__ = "milestone_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    milestone_key: Mapped[str] = mapped_column(String(128), index=True)
    old_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    new_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sequence: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(String(64))


class EvidenceFile(NodeBase):
    """An uploaded evidence file, addressed by its SHA-256."""

    __tablename__ = "evidence_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    uploaded_by: Mapped[str] = mapped_column(String(64))


class User(NodeBase):
    """A staff account of the commune."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))


class ApiToken(NodeBase):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)


class Draft(NodeBase):
    """A record prepared but not published (an adopted methodology the staff edit first).

    Drafts are not part of the feed: publishing one applies it as an ordinary change and removes it
    in the same transaction. ``origin`` says where it came from (the signed version it was checked against).
    """

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("entity", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    origin: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(64))
