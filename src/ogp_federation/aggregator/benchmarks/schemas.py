"""What the benchmarks answer: the catalogue, a comparison and a commune's profile."""

from __future__ import annotations

from datetime import datetime

import msgspec

from .catalogue import Catalogue, CatalogueIndicator

__all__ = [
    "Catalogue",
    "CatalogueIndicator",
    "CommuneStanding",
    "Comparison",
    "Distribution",
    "Profile",
    "ProfileEntry",
    "Value",
]


class Distribution(msgspec.Struct, kw_only=True):
    """A group's values summarised (type-7 quantiles; outliers beyond Tukey's fences)."""

    n: int
    min: float
    p10: float
    q1: float
    median: float
    q3: float
    p90: float
    max: float
    mean: float
    low_fence: float
    high_fence: float


class Value(msgspec.Struct, kw_only=True):
    """One commune's value in a comparison (for the ranking table)."""

    cut: str
    name: str
    value: float
    rank: int | None
    provisional: bool
    outlier: bool
    observed_at: datetime
    age_days: int  # days between the feed it came from and the moment compared (a broken node ages)
    version_id: int
    synthetic: bool = False  # from generated test data, not a commune's real plan


class CommuneStanding(msgspec.Struct, kw_only=True):
    """Where one commune stands in its group, read with the indicator's direction."""

    cut: str
    value: float | None
    rank: int | None
    better_than_percent: float | None  # share of the other reporting members it does better than
    provisional: bool | None
    trend: str | None  # improving, worsening, steady (by direction); None when neutral or too short
    trend_points: list[tuple[str, float]]


class Comparison(msgspec.Struct, kw_only=True):
    """One indicator, one period, one group."""

    code: str
    name_es: str
    name_en: str
    unit: str
    direction: str
    period: str
    group: str
    as_of: datetime | None
    members: int
    reporting: int
    coverage: float  # reporting / members
    distribution: Distribution
    values: list[Value]
    commune: CommuneStanding | None = None
    synthetic: int = 0  # how many of the values come from generated test data


class ProfileEntry(msgspec.Struct, kw_only=True):
    """One catalogue indicator for the commune against its group (no distribution when too few report)."""

    code: str
    name_es: str
    name_en: str
    unit: str
    direction: str
    period: str | None
    reporting: int
    distribution: Distribution | None
    standing: CommuneStanding | None
    note_es: str | None = None
    note_en: str | None = None


class Profile(msgspec.Struct, kw_only=True):
    """Every catalogue indicator for one commune against a chosen group."""

    cut: str
    name: str
    group: str
    as_of: datetime | None
    indicators: list[ProfileEntry]
    synthetic: bool = False  # the commune's values come from generated test data
