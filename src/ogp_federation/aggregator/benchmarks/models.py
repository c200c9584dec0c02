"""The analytic store: one typed row per commune, indicator and period, with its validity for time travel."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ogp_federation.aggregator.common import AggregatorBase
from ogp_federation.core.db import UTCDateTime

__all__ = ["BenchObservation"]


class BenchObservation(AggregatorBase):
    """A value as the federation knew it from ``valid_from`` until ``valid_to`` (open: still current).

    ``source`` is ``derived`` (computed by the aggregator from the feed) or ``published`` (a commune's
    own indicator mapped to a catalogue code). ``version_id`` is the accepted feed version it came from.
    """

    __tablename__ = "bench_observations"
    __table_args__ = (
        Index("ix_bench_current", "code", "period", "valid_to"),
        Index("ix_bench_commune_code", "cut", "code", "valid_to"),
        Index("ix_bench_as_of", "code", "period", "valid_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cut: Mapped[str] = mapped_column(String(5))
    code: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    denominator: Mapped[int] = mapped_column(Integer)
    provisional: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(10))
    # from a feed that says its content is generated (Plan Feed 1.1 ``synthetic``): shown as such everywhere
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version_id: Mapped[int] = mapped_column(Integer)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))  # the feed's generated_at
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))  # when the version was accepted
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), nullable=True)
