"""Operators' admin API of the review: versions held in quarantine, approved or discarded."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from ogp_federation.aggregator.common.operators import OPERATOR, SECURED, Operator
from ogp_federation.aggregator.common.params import Cursor, Limit, VersionId
from ogp_federation.core.http import paged

from .schemas import Decision, QuarantinedView
from .service import ReviewService

__all__ = ["HANDLERS"]

Review = NamedDependency[ReviewService]


@get("/admin/api/quarantine", dependencies=OPERATOR, security=SECURED, tags=["admin"])
async def quarantine(
    request: Request[Any, Any, Any], review: Review, operator: Operator, cursor: Cursor = None, limit: Limit = 500
) -> Response[list[QuarantinedView]]:
    """Versions held for review, oldest first (``Link: rel="next"`` while there are more)."""
    return paged(request, await review.pending(cursor=cursor, limit=limit))


@post(
    "/admin/api/quarantine/{version_id:int}/approve",
    dependencies=OPERATOR,
    security=SECURED,
    tags=["admin"],
    status_code=200,
)
async def approve(review: Review, operator: Operator, version_id: VersionId) -> Decision:
    """Apply a quarantined version newer than the accepted one."""
    await review.approve(version_id)
    return Decision(id=version_id, status="accepted")


@post(
    "/admin/api/quarantine/{version_id:int}/discard",
    dependencies=OPERATOR,
    security=SECURED,
    tags=["admin"],
    status_code=200,
)
async def discard(review: Review, operator: Operator, version_id: VersionId) -> Decision:
    """Keep a quarantined version out."""
    await review.discard(version_id)
    return Decision(id=version_id, status="discarded")


HANDLERS = [quarantine, approve, discard]
