"""OAuth 2.0 endpoints (token, revocation, introspection, metadata, keys) and what a token opens.

The OAuth endpoints answer as RFC 6749 says (``{"error": …}`` JSON), not as problem documents: that
is what OAuth clients read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, QueryParameter

from ogp_federation.aggregator.common.params import AsOf, Cursor, Limit, moment
from ogp_federation.aggregator.history import FederationReads
from ogp_federation.core.http import NOT_COMPRESSED, paged
from ogp_federation.core.ranges import serve_file

from .releases import ReleaseService, ReleaseView
from .schemas import Granted, OAuthError
from .service import ResearchService

__all__ = ["HANDLERS", "OAUTH_PATHS"]

OAUTH_PATHS = frozenset({"/oauth/token", "/oauth/revoke", "/oauth/introspect"})


_OAUTH_ERRORS = {
    400: ResponseSpec(data_container=OAuthError, description="OAuth 2.0 error (invalid_request, invalid_grant…)"),
    401: ResponseSpec(data_container=OAuthError, description="OAuth 2.0 error: invalid_client"),
}

Research = NamedDependency[ResearchService]
Federation = NamedDependency[FederationReads]
Releases = NamedDependency[ReleaseService]
AnyRequest = Request[Any, Any, Any]
MAX_FORM_BYTES = 16 * 1024


async def _answer(request: AnyRequest, research: ResearchService, endpoint: str | None) -> Response[Any]:
    form = {key: str(value) for key, value in (await request.form()).items()}
    answer = await research.answer(endpoint, request.url.path, request.headers, form)
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


@post(
    "/oauth/token",
    tags=["oauth"],
    request_max_body_size=MAX_FORM_BYTES,
    status_code=200,
    responses=_OAUTH_ERRORS,
)
async def token(request: AnyRequest, research: Research) -> Response[Any]:
    """An access token for a client's credentials (client credentials grant, RFC 6749 §4.4)."""
    return await _answer(request, research, None)


@post(
    "/oauth/revoke",
    tags=["oauth"],
    request_max_body_size=MAX_FORM_BYTES,
    status_code=200,
    responses=_OAUTH_ERRORS,
)
async def revoke(request: AnyRequest, research: Research) -> Response[Any]:
    """Revoke one of the client's tokens (RFC 7009)."""
    return await _answer(request, research, "revocation")


@post(
    "/oauth/introspect",
    tags=["oauth"],
    request_max_body_size=MAX_FORM_BYTES,
    status_code=200,
    responses=_OAUTH_ERRORS,
)
async def introspect(request: AnyRequest, research: Research) -> Response[Any]:
    """Whether one of the client's tokens is active, and its claims (RFC 7662)."""
    return await _answer(request, research, "introspection")


@get("/.well-known/oauth-authorization-server", tags=["oauth"], sync_to_thread=False)
def server_metadata(research: Research) -> dict[str, Any]:
    """Authorization server metadata (RFC 8414)."""
    return research.metadata()


@get("/oauth/jwks.json", tags=["oauth"], media_type="application/jwk-set+json")
async def jwks(research: Research) -> dict[str, Any]:
    """The aggregator's public keys: what its access tokens are signed with."""
    return await research.jwks()


def _token(scope: str) -> dict[str, Any]:
    """What a handler a token opens declares: the dependency ``granted`` (token checked, quota counted)."""

    async def granted(request: AnyRequest, research: Research) -> Granted:
        return await research.authorize(request.headers.get("authorization"), scope)

    return {"dependencies": {"granted": Provide(granted)}, "security": [{"oauth2": [scope]}], "tags": ["research"]}


@get("/api/v1/federation/records", **_token("read"))
async def federation_records(
    *,
    request: AnyRequest,
    federation: Federation,
    granted: NamedDependency[Granted],
    as_of: AsOf = None,
    cursor: Cursor = None,
    limit: Limit = 1000,
) -> Response[list[Any]]:
    """Every commune's records as of a moment (scope ``read``): the moment is pinned in the cursor, so
    paging on while versions land gives each record exactly once."""
    response = paged(request, await federation.records(as_of=moment(as_of), cursor=cursor, limit=limit))
    response.headers.update(granted.headers)
    return response


@get("/api/v1/stream", **_token("stream"))
async def stream(
    *,
    request: AnyRequest,
    federation: Federation,
    research: Research,
    granted: NamedDependency[Granted],
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response[list[Any]]:
    """Every accepted version in the order it was accepted (scope ``stream``), each with the link to its
    changes: a mirror keeps the last cursor and asks again later. An empty page is the end, for now."""
    settle = research.settings.stream_settle_seconds
    response = paged(request, await federation.accepted(cursor=cursor, limit=limit, settle_seconds=settle))
    response.headers.update(granted.headers)
    return response


@get("/api/v1/releases", tags=["releases"], sync_to_thread=False)
def releases(release_service: Releases) -> list[ReleaseView]:
    """The bulk releases, newest first: each with its cut-off, files, rows, manifest and signature."""
    return release_service.releases()


@get(
    "/releases/{release_id:str}/{path:path}",
    tags=["releases"],
    sync_to_thread=False,
    opt={NOT_COMPRESSED: True},  # a byte range is of the file as stored
)
def release_file(request: AnyRequest, release_service: Releases, release_id: FromPath[str], path: FromPath[str]) -> Any:
    """A file of a release (listed in its manifest), with a strong ETag and byte ranges; kept for good."""
    found = release_service.file(release_id, path.lstrip("/"))
    return serve_file(
        found.path,
        size=found.size,
        etag=found.etag,
        media_type=found.media_type,
        headers=request.headers,
        cache="public, max-age=31536000, immutable",
    )


ModifiedSince = Annotated[
    datetime | None, QueryParameter(description="Only datasets modified after this moment (RFC 3339).")
]
Page = Annotated[int, QueryParameter(ge=1, le=10_000, description="Page of the catalogue (100 datasets each).")]


@get("/catalog.jsonld", tags=["catalogue"], media_type="application/ld+json")
async def catalogue_jsonld(
    release_service: Releases, page: Page = 1, modified_since: ModifiedSince = None
) -> Response[bytes]:
    """The federation's DCAT-AP catalogue in JSON-LD: the releases and one dataset per commune feed."""
    body = await release_service.catalogue("json-ld", page=page, modified_since=moment(modified_since))
    return Response(body, media_type="application/ld+json")


@get("/catalog.ttl", tags=["catalogue"], media_type="text/turtle")
async def catalogue_turtle(
    release_service: Releases, page: Page = 1, modified_since: ModifiedSince = None
) -> Response[bytes]:
    """The same catalogue in Turtle."""
    body = await release_service.catalogue("turtle", page=page, modified_since=moment(modified_since))
    return Response(body, media_type="text/turtle")


HANDLERS = [
    token,
    revoke,
    introspect,
    server_metadata,
    jwks,
    federation_records,
    stream,
    releases,
    release_file,
    catalogue_jsonld,
    catalogue_turtle,
]
