"""Alembic environment of the aggregator's database."""

from __future__ import annotations

from ogp_federation.aggregator.models import AggregatorBase
from ogp_federation.core.migrations import run_env

run_env(AggregatorBase.metadata)
