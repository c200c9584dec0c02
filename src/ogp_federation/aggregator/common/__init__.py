"""What every sub-context of the aggregator builds on: settings, the tables' base, poll codes, HTTP guards.

Nothing here imports a sub-context; every sub-context may import this package.
"""

from __future__ import annotations

from .chile import CHILE, chile_day
from .codes import ADVICE_ES, EXPLANATIONS_ES, advise, describe, describe_es
from .settings import AggregatorSettings, load_settings
from .tables import SEQUENCE, AggregatorBase

__all__ = [
    "ADVICE_ES",
    "CHILE",
    "EXPLANATIONS_ES",
    "SEQUENCE",
    "AggregatorBase",
    "AggregatorSettings",
    "advise",
    "chile_day",
    "describe",
    "describe_es",
    "load_settings",
]
