"""The statistics of a comparison, computed the same way whatever the database.

Quantiles use linear interpolation between order statistics (Hyndman and Fan's type 7, the default of
R, NumPy and spreadsheets): for ``p`` in [0, 1] over ``n`` sorted values, ``h = (n − 1)·p`` and the
quantile is ``x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])``. Ranks are competition ranks ("1224"): tied
values share the best rank, the next value skips. Outliers lie outside Tukey's fences, 1.5 IQR beyond
the quartiles.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from .schemas import Distribution

__all__ = ["Ranker", "better_than", "quantile", "rank", "slope", "summarise"]


def quantile(ordered: Sequence[float], p: float) -> float:
    """The type-7 quantile ``p`` of ``ordered`` (sorted ascending, not empty)."""
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def summarise(values: Sequence[float]) -> Distribution:
    """The distribution of ``values`` (not empty)."""
    ordered = sorted(values)
    q1, q3 = quantile(ordered, 0.25), quantile(ordered, 0.75)
    spread = q3 - q1
    return Distribution(
        n=len(ordered),
        min=ordered[0],
        p10=quantile(ordered, 0.10),
        q1=q1,
        median=quantile(ordered, 0.5),
        q3=q3,
        p90=quantile(ordered, 0.90),
        max=ordered[-1],
        mean=math.fsum(ordered) / len(ordered),
        low_fence=q1 - 1.5 * spread,
        high_fence=q3 + 1.5 * spread,
    )


def _better(a: float, b: float, direction: str) -> bool:
    return a < b if direction == "lower_better" else a > b


def rank(value: float, values: Sequence[float], direction: str) -> int | None:
    """1 for the best (competition ranking on ties); None for a neutral indicator (no best)."""
    if direction == "neutral":
        return None
    return 1 + sum(1 for other in values if _better(other, value, direction))


class Ranker:
    """Ranks of many values against the same group in O(log n) each (one sort)."""

    def __init__(self, values: Sequence[float], direction: str) -> None:
        self.ordered = sorted(values)
        self.direction = direction

    def rank(self, value: float) -> int | None:
        """As :func:`rank`."""
        if self.direction == "neutral":
            return None
        if self.direction == "lower_better":
            return 1 + bisect.bisect_left(self.ordered, value)
        return 1 + len(self.ordered) - bisect.bisect_right(self.ordered, value)


def better_than(value: float, values: Sequence[float], direction: str) -> float | None:
    """Percentage of the *other* values that ``value`` is strictly better than (None when neutral or alone)."""
    others = list(values)
    others.remove(value)
    if direction == "neutral" or not others:
        return None
    return 100.0 * sum(1 for other in others if _better(value, other, direction)) / len(others)


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope of ``points`` (x, y); None with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = math.fsum(x for x, _ in points) / len(points)
    mean_y = math.fsum(y for _, y in points) / len(points)
    num = math.fsum((x - mean_x) * (y - mean_y) for x, y in points)
    den = math.fsum((x - mean_x) ** 2 for x, _ in points)
    return num / den
