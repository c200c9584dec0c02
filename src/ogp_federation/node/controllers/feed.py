"""Public feed endpoints: descriptor, signed feed (cached, conditional, gzip), signature, JWKS, changes."""

from __future__ import annotations

import base64
import binascii
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.params import QueryParameter

from ogp_federation.core.errors import InvalidInputError, NotFoundError, OGPError
from ogp_federation.feed import signing
from ogp_federation.feed.protocol import (
    CHANGES_PATH,
    DESCRIPTOR_PATH,
    FEED_PATH,
    JOSE,
    JSON,
    JWK_SET,
    JWKS_PATH,
    SCHEMA_JSON,
    SCHEMA_PATH,
    SEQUENCE_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_SUFFIX,
)
from ogp_federation.feed.schema import packaged_schema
from ogp_federation.node.changes import change_page, encode_page
from ogp_federation.node.snapshot import Snapshot

from ._deps import Runtime

__all__ = ["FEED_HANDLERS", "current_snapshot"]

CACHE_CONTROL = "public, no-cache"  # always revalidate: a 304 costs nothing and changes show at once


class CursorAheadError(OGPError):
    """The harvester's sequence is newer than the node's: it must resynchronise from the full feed."""

    default_code = "changes.cursor_ahead"
    status_code = 410


async def current_snapshot(runtime: Runtime) -> Snapshot:
    """The publication being served, or 404 before the first one."""
    snapshot = await runtime.cache.get()
    if snapshot is None:
        raise NotFoundError("aún no hay nada publicado", "nothing has been published yet")
    return snapshot


def _not_modified(request: Request[Any, Any, Any], snapshot: Snapshot) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or snapshot.etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return snapshot.generated_at.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


@get(DESCRIPTOR_PATH, media_type=JSON, sync_to_thread=False)
def descriptor(runtime: Runtime) -> Response[bytes]:
    """What this node is and where its documents are."""
    return Response(msgspec.json.encode(runtime.descriptor()), media_type=JSON)


@get(FEED_PATH, media_type=JSON)
async def plan_feed(request: Request[Any, Any, Any], runtime: Runtime) -> Response[bytes]:
    """The full current feed, signed; the bytes are built once per publication."""
    snapshot = await current_snapshot(runtime)
    headers = {
        "ETag": snapshot.etag,
        "Last-Modified": snapshot.last_modified,
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
        SIGNATURE_HEADER: snapshot.signature,
        SEQUENCE_HEADER: str(snapshot.sequence),
    }
    if _not_modified(request, snapshot):
        return Response(b"", status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(snapshot.gzip_body, headers=headers, media_type=JSON)
    return Response(snapshot.body, headers=headers, media_type=JSON)


@get(FEED_PATH + SIGNATURE_SUFFIX, media_type=JOSE)
async def plan_signature(runtime: Runtime) -> Response[bytes]:
    """The detached signature of the current feed."""
    snapshot = await current_snapshot(runtime)
    headers = {"ETag": snapshot.etag, "Cache-Control": CACHE_CONTROL}
    return Response(snapshot.signature.encode(), headers=headers, media_type=JOSE)


@get(JWKS_PATH, media_type=JWK_SET, sync_to_thread=False)
def jwks(runtime: Runtime) -> Response[bytes]:
    """The node's public keys (current and recently rotated out)."""
    return Response(runtime.jwks_document()[0], media_type=JWK_SET)


@get(JWKS_PATH + SIGNATURE_SUFFIX, media_type=JSON, sync_to_thread=False)
def jwks_endorsements(runtime: Runtime) -> Response[bytes]:
    """Detached signatures of ``jwks.json`` by each key it lists that the node still holds."""
    return Response(runtime.jwks_document()[1], media_type=JSON)


@get(SCHEMA_PATH, media_type=SCHEMA_JSON, sync_to_thread=False)
def schema() -> Response[str]:
    """The JSON Schema of Plan Feed v1."""
    return Response(packaged_schema(), media_type=SCHEMA_JSON)


def _encode_cursor(since: int, until: int, last: tuple[int, int]) -> str:
    raw = msgspec.json.encode([since, until, *last])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# A cursor comes back from clients: its numbers are bounded like the BIGINT columns they are compared with.
_Position = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


def _decode_cursor(cursor: str) -> tuple[int, int, tuple[int, int]]:
    try:
        since, until, seq, row = msgspec.json.decode(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)),
            type=tuple[_Position, _Position, _Position, _Position],
        )
    except (ValueError, binascii.Error, msgspec.DecodeError) as exc:
        raise InvalidInputError(
            "cursor inválido", "invalid cursor", errors=[{"path": "cursor", "message": "unreadable"}]
        ) from exc
    return since, until, (seq, row)


@get(CHANGES_PATH, media_type=JSON)
async def changes(
    runtime: Runtime,
    since: Annotated[int, QueryParameter(ge=0, le=2**63 - 1, description="Last sequence the harvester has.")],
    cursor: Annotated[str | None, QueryParameter(description="Opaque cursor from a previous page's 'next'.")] = None,
) -> Response[bytes]:
    """Records changed or deleted after ``since``, oldest first, paginated and signed like the feed."""
    snapshot = await current_snapshot(runtime)
    if cursor:
        since, until, last = _decode_cursor(cursor)
    else:
        until, last = snapshot.sequence, (since, 0)
    if since > snapshot.sequence:
        raise CursorAheadError(
            f"since={since} es posterior a la secuencia actual {snapshot.sequence}; vuelva a leer el feed completo",
            f"since={since} is after the current sequence {snapshot.sequence}; re-read the full feed",
        )
    page, following = await change_page(
        runtime.plan,
        runtime.settings.cut,
        since=since,
        until=until,
        after=last,
        limit=runtime.settings.changes_page_size,
    )
    next_url = None
    if following is not None:
        token = _encode_cursor(since, until, following)
        next_url = f"{runtime.settings.base_url}{CHANGES_PATH}?since={since}&cursor={token}"
    body = encode_page(page, next_url)
    headers = {SIGNATURE_HEADER: signing.sign(body, runtime.keyring.current), "Cache-Control": "no-store"}
    return Response(body, headers=headers, media_type=JSON)


FEED_HANDLERS = [descriptor, plan_feed, plan_signature, jwks, jwks_endorsements, schema, changes]
