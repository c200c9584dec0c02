"""Typed aliases of the aggregator's controllers: the runtime dependency and bounded parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.core.errors import InvalidInputError

__all__ = ["AsOf", "CutPath", "Runtime", "VersionId", "moment"]

Runtime = NamedDependency[AggregatorRuntime]
# Ids are BIGINT: a larger number is a client's mistake (400), not a database overflow (500).
VersionId = Annotated[int, PathParameter(ge=1, le=2**63 - 1)]
CutPath = Annotated[str, PathParameter(pattern=r"^[0-9]{5}$", description="The commune's CUT, e.g. 13122.")]
AsOf = Annotated[
    datetime | None, QueryParameter(description="A past moment, RFC 3339 with its offset (…Z or …-03:00).")
]


def moment(as_of: datetime | None) -> datetime | None:
    """``as_of`` if it says which time zone it is in (a bare local time is ambiguous: Chile is UTC-3 or -4)."""
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidInputError(
            "as_of necesita su huso horario (…Z o …-03:00)",
            "as_of needs its UTC offset (…Z or …-03:00)",
            errors=[{"path": "as_of", "message": "no UTC offset"}],
        )
    return as_of
