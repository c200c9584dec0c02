"""ETags for the read API: a GET whose answer did not change costs a 304 and no body.

An answer without an ETag of its own gets a weak one (``W/"…"``), a digest of its body as the handler
made it (before compression: the same ETag for every encoding of the same content); a request whose
``If-None-Match`` names it gets 304. Streamed answers (files, which carry their own ETag) and answers
larger than ``max_bytes`` pass through as they are.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ETagMiddleware"]


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))  # weak comparison


class ETagMiddleware:
    """ASGI middleware for GET answers under ``prefixes``."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ("/api/",), max_bytes: int = 32 * 1024 * 1024) -> None:
        self.app = app
        self.prefixes = prefixes
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == ScopeType.HTTP else ""
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "GET" or not path.startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        wanted = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"if-none-match"), None)
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False

        async def buffered(message: Message) -> None:
            nonlocal start, size, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if message["status"] != 200 or any(k.lower() == b"etag" for k, _ in headers):
                    passing = True
                    await send(message)
                    return
                start = dict(message)
                return
            chunks.append(bytes(cast("bytes", message.get("body", b""))))
            size += len(chunks[-1])
            if size > self.max_bytes and start is not None:  # too large to hold: sent as it comes
                passing = True
                await send(cast("Message", start))
                await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                return
            if message.get("more_body", False) or start is None:
                return
            body = b"".join(chunks)
            etag = 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers = [(k, v) for k, v in start.get("headers", [])] + [(b"etag", etag.encode())]
            if wanted is not None and _matches(wanted, etag):
                kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
                await send(cast("Message", {**start, "status": 304, "headers": kept}))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(cast("Message", {**start, "headers": headers}))
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, buffered)
