"""The dashboard's pages (HTML, es-CL unless ``?lang=en`` or ``Accept-Language`` say otherwise) and stylesheet.

Under a strict Content-Security-Policy: no script at all, styles only from this server's stylesheet.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath, QueryParameter

from ogp_federation.aggregator.common.params import CutPath
from ogp_federation.core.i18n import negotiate

from .service import WebService

__all__ = ["CSP", "HANDLERS"]

Web = NamedDependency[WebService]
AnyRequest = Request[Any, Any, Any]
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
Text = Annotated[str, QueryParameter(max_length=2000, description="Free text.")]
Short = Annotated[str, QueryParameter(max_length=80)]


def _html(body: str) -> Response[str]:
    headers = {"Content-Security-Policy": CSP, "Vary": "Accept-Language", "Cache-Control": "no-cache"}
    return Response(body, media_type=MediaType.HTML, headers=headers)


def _locale(request: AnyRequest) -> str:
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


@get("/", include_in_schema=False)
async def overview(request: AnyRequest, web: Web, indicador: Short = "") -> Response[str]:
    """The federation at a glance; the map coloured by a catalogue indicator with ``?indicador=``."""
    return _html(await web.overview(_locale(request), indicador or None))


@get("/comunas/{cut:str}", include_in_schema=False)
async def commune(request: AnyRequest, web: Web, cut: CutPath, grupo: Short = "") -> Response[str]:
    """A commune's profile."""
    return _html(await web.commune(cut, _locale(request), grupo or None))


@get(["/indicadores", "/indicadores/{codigo:str}"], include_in_schema=False)
async def indicator(
    request: AnyRequest,
    web: Web,
    *,
    codigo: Short = "hitos_a_tiempo",
    periodo: Short = "",
    grupo: Short = "todas",
    comuna: Short = "",
) -> Response[str]:
    """One indicator compared across a group; the URL holds the whole choice (shareable)."""
    page = await web.indicator(_locale(request), codigo, period=periodo or None, group=grupo, cut=comuna or None)
    return _html(page)


@get("/biblioteca", include_in_schema=False)
async def library(
    request: AnyRequest, web: Web, *, q: Text = "", tipo: Short = "", pilar: Short = "", describir: Text = ""
) -> Response[str]:
    """The methodology library: search, and who already did what a commune plans."""
    page = await web.library(_locale(request), q=q, kind=tipo, pillar=pilar, describe=describir)
    return _html(page)


@get("/biblioteca/{cut:str}/{key:str}", include_in_schema=False)
async def methodology(request: AnyRequest, web: Web, cut: CutPath, key: FromPath[str]) -> Response[str]:
    """A methodology with its adoptions."""
    return _html(await web.methodology(_locale(request), cut, key))


@get("/investigadores", include_in_schema=False)
async def researchers(request: AnyRequest, web: Web) -> Response[str]:
    """API access and the bulk releases."""
    return _html(await web.researchers(_locale(request)))


@cache
def _stylesheet() -> bytes:
    return (resources.files("ogp_federation.aggregator.web") / "static" / "web.css").read_bytes()


@get("/static/web.css", include_in_schema=False, media_type="text/css", sync_to_thread=False)
def stylesheet() -> Response[bytes]:
    """The dashboard's stylesheet."""
    return Response(_stylesheet(), media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


HANDLERS = [overview, commune, indicator, library, methodology, researchers, stylesheet]
