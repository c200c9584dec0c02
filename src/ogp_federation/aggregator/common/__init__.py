"""What every sub-context of the aggregator builds on: settings, the tables' base, poll codes, HTTP guards.

Nothing here imports a sub-context; every sub-context may import this package.
"""

from __future__ import annotations

from .codes import describe_es
from .settings import AggregatorSettings, load_settings
from .tables import SEQUENCE, AggregatorBase

__all__ = ["SEQUENCE", "AggregatorBase", "AggregatorSettings", "describe_es", "load_settings"]
