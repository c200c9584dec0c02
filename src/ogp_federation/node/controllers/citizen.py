"""The citizen page: the published plan in Spanish or English, with a strict Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.static_files import create_static_files_router

from ogp_federation.core.errors import NotFoundError
from ogp_federation.core.i18n import negotiate
from ogp_federation.node.citizen import (
    CONTENT_SECURITY_POLICY,
    PageLanguage,
    chile_today,
    render_commitment,
    render_plan,
)
from ogp_federation.node.snapshot import Snapshot

from ._deps import Runtime
from .feed import current_snapshot

__all__ = ["CITIZEN_HANDLERS", "HTML_HEADERS"]

HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "public, no-cache",
    "Vary": "Accept-Language",
}


def _language(request: Request[Any, Any, Any]) -> PageLanguage:
    """``?lang=es|en`` if given, else the browser's ``Accept-Language``, else es-CL."""
    requested = request.query_params.get("lang")
    locale = negotiate(requested, request.headers.get("accept-language"))
    return PageLanguage(locale=locale, chosen=bool(requested) and locale == negotiate(requested))


def _page(snapshot: Snapshot, commitment_id: str | None, page: PageLanguage) -> str | None:
    """The page, rendered once per publication, day and language (overdue milestones change with the date)."""
    today = chile_today()
    pages = snapshot.pages
    if pages.get("day") != today.isoformat():
        pages.clear()
        pages["day"] = today.isoformat()
    key = f"{page.locale}/{page.query}/" + (f"plan/{commitment_id}" if commitment_id is not None else "plan")
    if key not in pages:
        if commitment_id is not None and not any(c.id == commitment_id for c in snapshot.feed.commitments):
            return None  # an unknown id is not kept: arbitrary ids must not grow the cache
        feed = snapshot.feed
        pages[key] = (
            render_plan(feed, today=today, page=page)
            if commitment_id is None
            else render_commitment(feed, commitment_id, today=today, page=page)
        )
    return pages[key]


def _html(body: str, snapshot: Snapshot, page: PageLanguage) -> Response[str]:
    tag = snapshot.etag.removesuffix('"') + f'-{page.locale}"'  # one validator per language of the page
    return Response(body, media_type=MediaType.HTML, headers={**HTML_HEADERS, "ETag": tag})


@get("/", include_in_schema=False)
async def plan_page(runtime: Runtime, request: Request[Any, Any, Any]) -> Response[str]:
    """The plan, its commitments, indicators, participation and responses."""
    snapshot = await current_snapshot(runtime)
    page = _language(request)
    return _html(_page(snapshot, None, page) or "", snapshot, page)


@get(["/plan/{commitment_id:str}", "/plan/{commitment_id:str}/"], include_in_schema=False)
async def commitment_page(
    runtime: Runtime, request: Request[Any, Any, Any], commitment_id: FromPath[str]
) -> Response[str]:
    """One commitment with its milestone timeline and evidence."""
    snapshot = await current_snapshot(runtime)
    page = _language(request)
    body = _page(snapshot, commitment_id, page)
    if body is None:
        raise NotFoundError("compromiso no encontrado", "commitment not found")
    return _html(body, snapshot, page)


STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
CITIZEN_HANDLERS: list[Any] = [
    plan_page,
    commitment_page,
    create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False),
]
