"""Public read API of the history: current and past feeds (exact signed bytes), records, versions, diffs, polls.

Every list is a JSON array, a page at a time: when there is more, ``Link: <…>; rel="next"`` names the
next page (its ``cursor``).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from ogp_federation.aggregator.common.params import AsOf, Cursor, CutPath, Limit, VersionId, moment
from ogp_federation.core.http import paged
from ogp_federation.feed import Entity
from ogp_federation.feed.model import MAX_SEQUENCE
from ogp_federation.feed.protocol import JSON

from .schemas import ChangeView, EventView, VersionView
from .service import HistoryService

__all__ = ["HANDLERS"]

History = NamedDependency[HistoryService]
AnyRequest = Request[Any, Any, Any]
Sequence = Annotated[int, QueryParameter(ge=0, le=MAX_SEQUENCE, description="A sequence of the commune's feed.")]
OptionalSequence = Annotated[
    int | None, QueryParameter(ge=0, le=MAX_SEQUENCE, description="The records as of this sequence.")
]


@get("/api/v1/communes/{cut:str}/feed", tags=["read"])
async def commune_feed(history: History, cut: CutPath, as_of: AsOf = None) -> Response[bytes]:
    """The latest accepted full feed of a commune — or as of a past moment — as the exact bytes the node signed.

    Versions harvested from change pages show in the records at once; their full signed feed follows
    with the node's next full fetch (``full_refresh_seconds``).
    """
    document = await history.feed(cut, as_of=moment(as_of))
    return Response(document.body, media_type=JSON, headers=document.headers())


@get("/api/v1/communes/{cut:str}/records/{entity:str}", tags=["read"])
async def commune_records(
    request: AnyRequest,
    history: History,
    *,
    cut: CutPath,
    entity: FromPath[Entity],
    as_of: AsOf = None,
    sequence: OptionalSequence = None,
    cursor: Cursor = None,
    limit: Limit = 500,
) -> Response[list[Any]]:
    """A commune's records of one collection by id: now, as of a past moment, or as of a sequence.

    A cursor keeps the state its first page was read at, so paging on while a version lands gives
    each record once.
    """
    page = await history.records(cut, entity, as_of=moment(as_of), sequence=sequence, cursor=cursor, limit=limit)
    return paged(request, page)


@get("/api/v1/communes/{cut:str}/versions", tags=["read"])
async def commune_versions(
    request: AnyRequest, history: History, cut: CutPath, cursor: Cursor = None, limit: Limit = 500
) -> Response[list[VersionView]]:
    """The versions harvested from a commune (accepted, quarantined, discarded), oldest first."""
    return paged(request, await history.versions(cut, cursor=cursor, limit=limit))


@get("/api/v1/communes/{cut:str}/diff", tags=["read"])
async def commune_diff(
    request: AnyRequest,
    history: History,
    *,
    cut: CutPath,
    since: Sequence,
    until: Sequence,
    cursor: Cursor = None,
    limit: Limit = 500,
) -> Response[list[ChangeView]]:
    """What changed in a commune's records between two sequences: added, changed (with fields), deleted."""
    return paged(request, await history.diff(cut, since, until, cursor=cursor, limit=limit))


@get("/api/v1/communes/{cut:str}/events", tags=["status"])
async def commune_events(
    request: AnyRequest, history: History, cut: CutPath, cursor: Cursor = None, limit: Limit = 50
) -> Response[list[EventView]]:
    """A node's poll history, newest first: outcome, error code and message, duration, size."""
    return paged(request, await history.events(cut, cursor=cursor, limit=limit))


@get("/api/v1/versions/{version_id:int}", tags=["read"])
async def version(history: History, version_id: VersionId) -> VersionView:
    """One harvested version, without its body."""
    return await history.version(version_id)


@get("/api/v1/versions/{version_id:int}/document", tags=["read"])
async def version_document(history: History, version_id: VersionId) -> Response[bytes]:
    """The exact bytes of a harvested version (a full feed or a change page), with its signature."""
    document = await history.document(version_id)
    return Response(document.body, media_type=JSON, headers=document.headers())


@get("/api/v1/versions/{version_id:int}/keys", tags=["read"], media_type="application/jwk-set+json")
async def version_keys(history: History, version_id: VersionId) -> dict[str, Any]:
    """The JWKS holding the key that signed the version: check its exact bytes offline, even after a rotation."""
    return await history.version_keys(version_id)


@get("/api/v1/versions/{version_id:int}/changes", tags=["read"])
async def version_changes(
    request: AnyRequest, history: History, version_id: VersionId, cursor: Cursor = None, limit: Limit = 500
) -> Response[list[ChangeView]]:
    """What a version added (with content), changed (with the fields) and deleted, against the one before."""
    return paged(request, await history.changes(version_id, cursor=cursor, limit=limit))


HANDLERS = [
    commune_feed,
    commune_records,
    commune_versions,
    commune_diff,
    commune_events,
    version,
    version_document,
    version_keys,
    version_changes,
]
