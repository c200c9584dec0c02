"""HTTP plumbing both apps share.

Every :class:`OGPError` (and Litestar's own, and anything unexpected) becomes an RFC 9457 problem
response in one place; the security headers every response carries; ``HEAD`` answered like ``GET``;
the lifespan wiring of a runtime.
"""

from __future__ import annotations

import html
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, cast

from litestar import Litestar, Request, Response
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.enums import MediaType, ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ASGIApp, ExceptionHandlersMap, Message, Receive, Scope, Send

from .db import database_failure
from .errors import DatabaseUnavailableError, InvalidInputError, OGPError, TooManyRequestsError
from .pagination import Page, next_link

NOT_COMPRESSED = "not_compressed"  # a handler's opt key: answered as stored (byte ranges need it)

__all__ = [
    "NOT_COMPRESSED",
    "PROBLEM_JSON",
    "SECURITY_HEADERS",
    "Service",
    "answer_head_like_get",
    "error_page",
    "exception_handlers",
    "paged",
    "problem",
    "provide_value",
    "service_wiring",
    "time_answers",
    "wants_html",
]

PROBLEM_JSON = "application/problem+json"
# On every response: what a node published is served as the type it is (JSON), never sniffed into HTML.
SECURITY_HEADERS = [ResponseHeader(name="X-Content-Type-Options", value="nosniff")]
logger = logging.getLogger(__name__)


def problem(status: int, code: str, title: str, detail: str | None = None, **extra: Any) -> Response[Any]:
    """An ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": f"urn:ogp-federation:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    # Error responses do not get the app's response headers: they carry the security headers themselves.
    headers = {header.name: header.value or "" for header in SECURITY_HEADERS}
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def paged(request: Request[Any, Any, Any], page: Page[Any]) -> Response[list[Any]]:
    """A page as a JSON array, with ``Link: <…>; rel="next"`` when there are more (RFC 8288)."""
    return Response(page.items, headers=next_link(request.url.path, request.query_params, page.next))


_ERROR_PAGE = """<!doctype html>
<html lang="es-CL"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main><h1>{title}</h1><p>{detail}</p><p><a href="/">Volver al inicio</a></p>
<p lang="en"><small>{title_en}</small></p></main></body></html>
"""
_ERROR_PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_PAGE_TITLES = {
    404: ("Página no encontrada", "Page not found"),
    401: ("Necesita identificarse", "Authentication needed"),
    403: ("No tiene permiso", "Forbidden"),
    405: ("Acción no permitida", "Method not allowed"),
    500: ("Error interno", "Internal error"),
    503: ("Servicio no disponible por ahora", "Service unavailable for now"),
}


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """Whether the client is a person's browser (it asks for HTML before JSON)."""
    accept = request.headers.get("accept", "").lower()
    html, json_ = accept.find("text/html"), accept.find("json")
    return html != -1 and (json_ == -1 or html < json_)


def error_page(status: int, detail: str, detail_en: str) -> Response[str]:
    """The Spanish (then English) page a browser gets for an error, everything in it escaped."""
    title, title_en = _PAGE_TITLES.get(status, ("No se pudo atender la solicitud", "The request could not be served"))
    body = _ERROR_PAGE.format(
        title=html.escape(title), detail=html.escape(detail), title_en=html.escape(f"{title_en}: {detail_en}")
    )
    headers = {header.name: header.value or "" for header in SECURITY_HEADERS}
    return Response(
        body,
        status_code=status,
        media_type=MediaType.HTML,
        headers={**headers, "Content-Security-Policy": _ERROR_PAGE_CSP},
    )


def _ogp_error(request: Request[Any, Any, Any], exc: OGPError) -> Response[Any]:
    if wants_html(request) and not isinstance(exc, DatabaseUnavailableError | TooManyRequestsError):
        return error_page(exc.status_code, exc.describe(), exc.describe("en"))
    english = "en" in request.headers.get("accept-language", "")[:2]
    extra: dict[str, Any] = {"message": exc.message, "message_en": exc.message_en}
    if isinstance(exc, InvalidInputError):
        extra["errors"] = exc.errors
    detail = exc.detail
    if isinstance(exc, DatabaseUnavailableError):  # where the database lives is the operator's business: logged only
        logger.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc.detail)
        detail = None
    response = problem(exc.status_code, exc.code, exc.message_en if english else exc.message, detail, **extra)
    response.headers.update(exc.headers)
    if isinstance(exc, DatabaseUnavailableError):
        response.headers["Retry-After"] = "30"
    if isinstance(exc, TooManyRequestsError):
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return response


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    detail = exc.detail if len(exc.detail) <= 200 else exc.detail[:200] + "…"  # it quotes the request's path
    return problem(400, "bad_request", "solicitud inválida / invalid request", detail, errors=errors)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    if wants_html(request) and exc.status_code in (404, 405):
        detail = "la dirección no existe en este sitio" if exc.status_code == 404 else "esta acción no se admite aquí"
        page = error_page(exc.status_code, detail, exc.detail)
        page.headers.update(headers)
        return page
    if exc.status_code == 400:  # e.g. a body that is not JSON: same shape as a failed validation
        response = problem(400, "bad_request", "solicitud inválida / invalid request", exc.detail)
    else:
        response = problem(exc.status_code, f"http_{exc.status_code}", exc.detail)
    response.headers.update(headers)
    return response


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else: logged with its traceback; the client learns only what it can act on."""
    failure = database_failure(exc)
    if failure is not None:
        return _ogp_error(request, failure)
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(
        500,
        "internal",
        "error interno; quedó registrado",
        message="error interno; quedó registrado",
        message_en="internal error; it has been logged",
    )


def _not_utf8(_: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    """Text in the request that is not UTF-8 (a form field holding binary data, say): the client's to fix."""
    return problem(
        400,
        "bad_request",
        "la solicitud trae texto que no está en UTF-8 / the request holds text that is not UTF-8",
        f"byte {exc.start}: {exc.reason}",
    )


exception_handlers: ExceptionHandlersMap = {
    OGPError: _ogp_error,
    UnicodeDecodeError: _not_utf8,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unexpected,
}


class Service(Protocol):
    """Something an app starts with its lifespan and stops after it (a node or aggregator runtime)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def service_wiring(service: Service) -> tuple[Callable[[Litestar], AbstractAsyncContextManager[None]], Provide]:
    """The lifespan that starts and stops ``service``, and the dependency that hands it to handlers."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    async def provide() -> Service:
        return service

    return lifespan, Provide(provide, use_cache=True)


def provide_value(value: object) -> Provide:
    """A dependency that hands handlers ``value`` (a service built once by the runtime)."""

    async def provide() -> object:
        return value

    return Provide(provide, use_cache=True)


def time_answers(app: Litestar) -> Litestar:
    """Every answer says how long the server took to start it: ``Server-Timing: app;dur=<ms>``.

    Measured from the request's arrival to the first byte of the answer (routing, errors and any wait
    for the event loop behind other requests included); what a client sees adds the network and its own
    reading. The benchmarks read it, and so can an operator's browser tools.
    """
    inner: ASGIApp = app.asgi_handler

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await inner(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", took)]}
            await send(message)

        await inner(scope, receive, timed)

    app.asgi_handler = handler
    return app


def answer_head_like_get(app: Litestar) -> Litestar:
    """Answer ``HEAD`` for every ``GET`` resource with the same status and headers and no body (RFC 9110).

    Harvesters and link checkers ask ``HEAD`` first; Litestar routes it only to handlers declared for it.
    The request is routed as a ``GET`` and the body is dropped on the way out (``Content-Length`` stays).
    """
    inner: ASGIApp = app.asgi_handler

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "HEAD":
            await inner(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await inner(cast("Scope", {**scope, "method": "GET"}), receive, headers_only)

    app.asgi_handler = handler
    return app
