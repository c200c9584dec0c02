"""Alembic environment of the aggregator's database: every sub-context's tables on one metadata."""

from __future__ import annotations

from ogp_federation.aggregator import benchmarks, harvest, history, library, quality, registry, research  # noqa: F401 (each defines its tables)
from ogp_federation.aggregator.common import AggregatorBase
from ogp_federation.core.migrations import run_env

run_env(AggregatorBase.metadata)
