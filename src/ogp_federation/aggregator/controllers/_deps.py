"""Typed dependency alias of the aggregator's controllers."""

from __future__ import annotations

from litestar.di import NamedDependency

from ogp_federation.aggregator.runtime import AggregatorRuntime

__all__ = ["Runtime"]

Runtime = NamedDependency[AggregatorRuntime]
