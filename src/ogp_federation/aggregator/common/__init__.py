"""What every sub-context of the aggregator builds on: settings, the tables' base, poll codes, HTTP guards.

Nothing here imports a sub-context; every sub-context may import this package.
"""

from __future__ import annotations

from .codes import EXPLANATIONS_ES, describe, describe_es
from .settings import AggregatorSettings, load_settings
from .tables import SEQUENCE, AggregatorBase

__all__ = [
    "EXPLANATIONS_ES",
    "SEQUENCE",
    "AggregatorBase",
    "AggregatorSettings",
    "describe",
    "describe_es",
    "load_settings",
]
