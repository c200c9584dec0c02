"""Public read API: communes, current and past feeds (exact signed bytes), records as of a time, diffs."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get
from litestar.params import FromPath, QueryParameter
from sqlalchemy import select

from ogp_federation.aggregator.harvest.history import changes_of, records_as_of
from ogp_federation.aggregator.models import FeedVersion, HarvestEvent, Node
from ogp_federation.aggregator.status import status_rows
from ogp_federation.core.errors import NotFoundError
from ogp_federation.feed import Entity

from ._deps import AsOf, CutPath, Runtime, VersionId, moment

__all__ = ["API_HANDLERS"]


@get("/api/v1/communes", tags=["read"])
async def communes(runtime: Runtime) -> list[dict[str, Any]]:
    """Every commune with its node's state."""
    return await status_rows(runtime.db, runtime.settings.stale_factor)


@get("/api/v1/communes/{cut:str}/feed", tags=["read"])
async def commune_feed(runtime: Runtime, cut: CutPath, as_of: AsOf = None) -> Response[bytes]:
    """The latest accepted full feed of a commune — or as of a past moment — as the exact bytes the node signed.

    Versions harvested from change pages show in the records at once; their full signed feed follows
    with the node's next full fetch (``full_refresh_seconds``).
    """
    query = select(FeedVersion).where(
        FeedVersion.cut == cut, FeedVersion.status == "accepted", FeedVersion.source == "feed"
    )
    if moment(as_of) is not None:
        query = query.where(FeedVersion.generated_at <= as_of)
    async with runtime.db.sessions() as session:
        version = await session.scalar(query.order_by(FeedVersion.sequence.desc(), FeedVersion.id.desc()).limit(1))
    if version is None:
        raise NotFoundError(f"sin versión aceptada de {cut}", f"no accepted version of {cut}")
    headers = {
        "OGP-Signature": version.signature,
        "OGP-Sequence": str(version.sequence),
        "OGP-Version": str(version.id),
    }
    return Response(version.body, media_type="application/json", headers=headers)


@get("/api/v1/communes/{cut:str}/records/{entity:str}", tags=["read"])
async def commune_records(
    runtime: Runtime, cut: CutPath, entity: FromPath[Entity], as_of: AsOf = None
) -> list[dict[str, Any]]:
    """A commune's records of one collection, now or as of a past moment."""
    async with runtime.db.sessions() as session:
        return await records_as_of(session, cut, entity.value, moment(as_of))


@get("/api/v1/communes/{cut:str}/versions", tags=["read"])
async def commune_versions(
    runtime: Runtime,
    cut: CutPath,
    after: Annotated[int, QueryParameter(ge=0, le=2**63 - 1, description="Only versions with a larger id.")] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1000, description="Most versions in this page.")] = 500,
) -> Response[list[dict[str, Any]]]:
    """The versions harvested from a commune (accepted and quarantined), oldest first, a page at a time.

    When there are more, the ``Link`` header names the next page (``rel="next"``).
    """
    listed = (
        FeedVersion.id,
        FeedVersion.sequence,
        FeedVersion.generated_at,
        FeedVersion.status,
        FeedVersion.source,
        FeedVersion.reason,
        FeedVersion.sha256,
        FeedVersion.kid,
        FeedVersion.counts,
    )  # not the bodies: a listing never loads the documents
    async with runtime.db.sessions() as session:
        rows = (
            await session.execute(
                select(*listed)
                .where(FeedVersion.cut == cut, FeedVersion.id > after)
                .order_by(FeedVersion.id)
                .limit(limit + 1)
            )
        ).all()
    page = [
        {
            "id": row.id,
            "sequence": row.sequence,
            "generated_at": row.generated_at.isoformat(),
            "status": row.status,
            "source": row.source,
            "reason": row.reason,
            "sha256": row.sha256,
            "kid": row.kid,
            "counts": row.counts,
        }
        for row in rows[:limit]
    ]
    headers = {}
    if len(rows) > limit:
        headers["Link"] = f'</api/v1/communes/{cut}/versions?after={page[-1]["id"]}&limit={limit}>; rel="next"'
    return Response(page, headers=headers)


@get("/api/v1/versions/{version_id:int}/changes", tags=["read"])
async def version_changes(runtime: Runtime, version_id: VersionId) -> list[dict[str, Any]]:
    """What a version added, changed (with the fields) and deleted, compared with the one before."""
    async with runtime.db.sessions() as session:
        version = await session.get(FeedVersion, version_id)
        if version is None:
            raise NotFoundError("versión no encontrada", "version not found")
        return await changes_of(session, version)


@get("/api/v1/communes/{cut:str}/events", tags=["status"])
async def commune_events(
    runtime: Runtime, cut: CutPath, limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50
) -> list[dict[str, Any]]:
    """A node's poll history, newest first: outcome, error code and message, duration, size."""
    async with runtime.db.sessions() as session:
        rows = await session.scalars(
            select(HarvestEvent)
            .join(Node, Node.id == HarvestEvent.node_id)
            .where(Node.cut == cut)
            .order_by(HarvestEvent.id.desc())
            .limit(limit)
        )
        return [
            {
                "at": e.at.isoformat(),
                "outcome": e.outcome,
                "code": e.code,
                "message": e.message,
                "duration_ms": e.duration_ms,
                "bytes": e.bytes,
                "worker": e.worker,
            }
            for e in rows
        ]


API_HANDLERS = [commune_events, communes, commune_feed, commune_records, commune_versions, version_changes]
