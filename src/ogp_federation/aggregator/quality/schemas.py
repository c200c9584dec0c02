"""What the quality scores answer: the methodology, and a commune's score with its history and gaps."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

__all__ = [
    "ComponentView",
    "GapView",
    "MeasureDefinition",
    "MeasureView",
    "MethodologyView",
    "QualityView",
    "ScorePoint",
]


class MeasureDefinition(msgspec.Struct, kw_only=True):
    """A measure as published."""

    code: str
    component: str
    name_es: str
    name_en: str
    definition_es: str
    definition_en: str


class MethodologyView(msgspec.Struct, kw_only=True):
    """The methodology version in use, its component weights and its measures."""

    version: str
    weights: dict[str, float]
    measures: list[MeasureDefinition]
    document: str  # where it is explained in full


class MeasureView(msgspec.Struct, kw_only=True):
    """One measure's value (null: does not apply) and the figures behind it."""

    code: str
    name_es: str
    name_en: str
    value: float | None
    numerator: float | None
    denominator: float | None


class ComponentView(msgspec.Struct, kw_only=True):
    """A component's score and weight, with its measures."""

    code: str
    name_es: str
    name_en: str
    weight: float
    value: float | None
    measures: list[MeasureView]


class GapView(msgspec.Struct, kw_only=True):
    """What would raise the score: a measure below 100, what to do, and the concrete items."""

    measure: str
    points: float  # overall points this gap costs
    fix_es: str
    fix_en: str
    count: int
    items: list[str]  # the first ones (``count`` says how many in all)


class ScorePoint(msgspec.Struct, kw_only=True):
    """One day of a commune's score history."""

    day: date
    methodology: str
    overall: float | None
    timeliness: float | None
    completeness: float | None
    validity: float | None
    availability: float | None


class QualityView(msgspec.Struct, kw_only=True):
    """A commune's latest score with its components and gaps, and its history (newest first)."""

    cut: str
    name: str
    methodology: str
    day: date
    computed_at: datetime
    overall: float | None
    components: list[ComponentView]
    gaps: list[GapView]
    history: list[ScorePoint]
    synthetic: bool = False  # scored from generated test data, not a commune's real plan
