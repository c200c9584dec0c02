"""The registry's tables: the 346 communes, and the node registered for each with its keys and health.

A node's row is the registry's (where the node is, which keys are trusted) and the harvest's (its
schedule, lease and health): both are written in the same transaction as what a poll found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ogp_federation.aggregator.common import SEQUENCE, AggregatorBase
from ogp_federation.core.db import JSON_DOCUMENT, UTCDateTime

# Cache validators a node sends are kept only when they fit (the harvester drops longer ones).
ETAG_LENGTH, LAST_MODIFIED_LENGTH = 200, 100

__all__ = ["ETAG_LENGTH", "LAST_MODIFIED_LENGTH", "Commune", "Node", "NodeKey"]


class Commune(AggregatorBase):
    """One of the 346 communes, with its peer-group attributes.

    ``population`` and ``subdere_group`` are the operator's; ``declared_*`` are what the commune's latest
    accepted feed says (Plan Feed ``publisher``). Peer groups use the operator's value, else the declared one.
    """

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
    declared_population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    declared_subdere_group: Mapped[int | None] = mapped_column(Integer, nullable=True)


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
    conformance: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOCUMENT, nullable=True)  # last `node check`
    poll_interval: Mapped[int] = mapped_column(Integer, default=3600)
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    etag: Mapped[str | None] = mapped_column(String(ETAG_LENGTH), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(LAST_MODIFIED_LENGTH), nullable=True)
    sequence: Mapped[int | None] = mapped_column(SEQUENCE, nullable=True)
    current_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="never_harvested")
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    last_error_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    last_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    last_fix_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)  # time to fix, last outage
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    circuit_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    full_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    # The last push admitted: the per-node rate limit of /push, shared by every process serving it.
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
    notified_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))


class NodeKey(AggregatorBase):
    """Every public key ever pinned for a commune's node, kept after the node rotates it away, so that
    any harvested version can still be checked with the key that signed it."""

    __tablename__ = "node_keys"

    cut: Mapped[str] = mapped_column(String(5), primary_key=True)
    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    jwk: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    first_pinned_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
