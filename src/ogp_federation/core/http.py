"""Errors as HTTP: every :class:`OGPError` (and Litestar's own) becomes an RFC 9457 problem response."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from .errors import InvalidInputError, OGPError

__all__ = ["PROBLEM_JSON", "exception_handlers", "problem"]

PROBLEM_JSON = "application/problem+json"


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
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON)


def _ogp_error(request: Request[Any, Any, Any], exc: OGPError) -> Response[Any]:
    english = "en" in request.headers.get("accept-language", "")[:2]
    extra: dict[str, Any] = {"message": exc.message, "message_en": exc.message_en}
    if isinstance(exc, InvalidInputError):
        extra["errors"] = exc.errors
    return problem(exc.status_code, exc.code, exc.message_en if english else exc.message, exc.detail, **extra)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    return problem(400, "bad_request", "solicitud inválida / invalid request", exc.detail, errors=errors)


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    response = problem(exc.status_code, f"http_{exc.status_code}", exc.detail)
    response.headers.update(headers)
    return response


exception_handlers: ExceptionHandlersMap = {
    OGPError: _ogp_error,
    ValidationException: _validation,
    HTTPException: _http,
}
