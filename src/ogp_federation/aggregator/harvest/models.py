"""The harvest's own tables: the rounds of polls claimed together, and the push notices received."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ogp_federation.aggregator.common import SEQUENCE, AggregatorBase
from ogp_federation.core.db import UTCDateTime

__all__ = ["PushReceipt", "Round"]


class Round(AggregatorBase):
    """A batch of polls claimed together by one worker; flagged when most of it failed."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
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
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
