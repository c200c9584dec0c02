"""Parameters shared by the aggregator's controllers: bounded path and query values, cursors, ``as_of``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from ogp_federation.core.errors import InvalidInputError

__all__ = ["AsOf", "Cursor", "CutPath", "Limit", "VersionId", "moment"]

# Ids are BIGINT: a larger number is a client's mistake (400), not a database overflow (500).
VersionId = Annotated[int, PathParameter(ge=1, le=2**63 - 1)]
CutPath = Annotated[str, PathParameter(pattern=r"^[0-9]{5}$", description="The commune's CUT, e.g. 13122.")]
AsOf = Annotated[
    datetime | None, QueryParameter(description="A past moment, RFC 3339 with its offset (…Z or …-03:00).")
]
Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=512,
        description='Where the page starts: the opaque value of the previous page\'s `Link: rel="next"`.',
    ),
]
Limit = Annotated[int, QueryParameter(ge=1, le=5000, description="Most items in this page.")]


def moment(as_of: datetime | None) -> datetime | None:
    """``as_of`` if it says which time zone it is in (a bare local time is ambiguous: Chile is UTC-3 or -4)."""
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidInputError(
            "as_of necesita su huso horario (…Z o …-03:00)",
            "as_of needs its UTC offset (…Z or …-03:00)",
            errors=[{"path": "as_of", "message": "no UTC offset"}],
        )
    return as_of
