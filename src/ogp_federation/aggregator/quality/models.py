"""The quality scores' table: one row per commune, day and methodology version (the history)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ogp_federation.aggregator.common import AggregatorBase
from ogp_federation.core.db import JSON_DOCUMENT, UTCDateTime

__all__ = ["QualityScore"]


class QualityScore(AggregatorBase):
    """A commune's data-quality score on one day (Chile's date), by one version of the methodology.

    Recomputing a day by the same version replaces that day's row; another version adds its own row
    beside it, so a new methodology never overwrites the scores of an older one.
    """

    __tablename__ = "quality_scores"
    __table_args__ = (
        UniqueConstraint("cut", "day", "methodology"),
        Index("ix_quality_scores_cut_day", "cut", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cut: Mapped[str] = mapped_column(String(5))
    day: Mapped[date] = mapped_column(Date)
    methodology: Mapped[str] = mapped_column(String(10))
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    timeliness: Mapped[float | None] = mapped_column(Float, nullable=True)
    completeness: Mapped[float | None] = mapped_column(Float, nullable=True)
    validity: Mapped[float | None] = mapped_column(Float, nullable=True)
    availability: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)  # measures and gaps, as computed
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
