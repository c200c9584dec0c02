"""The federation's current values per indicator and period, read once and shared by every comparison.

A comparison or a commune profile summarises a peer group's current values; every commune of a group
(and every group) reads the same rows, so they are kept in the process per ``(code, period)`` and read
again only when the store may have changed: a new value (the store's largest id moves) or a new version
(the history's largest version id moves; a version can also close values without opening any). Both are
one index lookup per request. Two versions committed concurrently can leave the second one's values out
of a read made between the two commits; ``CURRENT_SECONDS`` bounds how long such a read is kept.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.history import FeedVersion

from .models import BenchObservation

__all__ = ["CURRENT_SECONDS", "READ", "CurrentValues", "Observation"]

CURRENT_SECONDS = 60.0
MOST_PAIRS = 2048  # (code, period) pairs kept; past it the cache starts again (30 codes × a few periods in use)

READ = (
    BenchObservation.cut,
    BenchObservation.code,
    BenchObservation.period,
    BenchObservation.value,
    BenchObservation.unit,
    BenchObservation.provisional,
    BenchObservation.observed_at,
    BenchObservation.version_id,
    BenchObservation.synthetic,
)


class Observation(NamedTuple):
    """One current value, as comparisons read it (a plain tuple: read thousands of times a page)."""

    cut: str
    code: str
    period: str
    value: float
    unit: str
    provisional: bool
    observed_at: datetime
    version_id: int
    synthetic: bool


class CurrentValues:
    """Every commune's current rows of each ``(code, period)`` asked for, by commune."""

    def __init__(self) -> None:
        self._stamp: tuple[Any, ...] | None = None
        self._read_at = 0.0
        self._rows: dict[tuple[str, str], dict[str, list[Any]]] = {}

    def forget(self) -> None:
        """Read everything again on the next request."""
        self._stamp = None
        self._rows = {}

    async def rows(self, session: AsyncSession, pairs: list[tuple[str, str]], cuts: list[str]) -> list[Any]:
        """The current rows of ``cuts`` for each pair of ``pairs``, pair by pair, each ordered by commune."""
        stamp = tuple(
            (
                await session.execute(
                    select(
                        select(func.max(BenchObservation.id)).scalar_subquery(),
                        select(func.max(FeedVersion.id)).scalar_subquery(),
                    )
                )
            ).one()
        )
        now = time.monotonic()
        if stamp != self._stamp or now - self._read_at > CURRENT_SECONDS or len(self._rows) > MOST_PAIRS:
            self._stamp, self._read_at, self._rows = stamp, now, {}
        missing = sorted({pair for pair in pairs if pair not in self._rows})
        if missing:
            fresh: dict[tuple[str, str], dict[str, list[Any]]] = {pair: {} for pair in missing}
            query = select(*READ).where(
                BenchObservation.valid_to.is_(None),
                BenchObservation.code.in_(sorted({code for code, _ in missing})),
                BenchObservation.period.in_(sorted({period for _, period in missing})),
            )
            connection = await session.connection()
            for row in (await connection.execute(query.order_by(BenchObservation.cut, BenchObservation.period))).all():
                bucket = fresh.get((row.code, row.period))
                if bucket is not None:
                    bucket.setdefault(row.cut, []).append(Observation(*row))
            self._rows.update(fresh)
        ordered = sorted(cuts)
        found: list[Any] = []
        for pair in pairs:
            by_cut = self._rows[pair]
            for cut in ordered:
                found.extend(by_cut.get(cut, ()))
        return found
