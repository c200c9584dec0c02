"""Typed aliases of the aggregator's controllers: the runtime dependency and bounded path parameters."""

from __future__ import annotations

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import PathParameter

from ogp_federation.aggregator.runtime import AggregatorRuntime

__all__ = ["Runtime", "VersionId"]

Runtime = NamedDependency[AggregatorRuntime]
# Ids are BIGINT: a larger number is a client's mistake (400), not a database overflow (500).
VersionId = Annotated[int, PathParameter(ge=1, le=2**63 - 1)]
