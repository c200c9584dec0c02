"""The demo's synthetic communes: one small ASGI app serving many signed synthetic nodes under ``/<cut>/``.

Each commune gets its own key and a synthetic plan (marked ``synthetic``, as every page shows it). A few
misbehave on purpose, so the status page and the alerts have something to show: ``down`` answers 503,
``invalid`` serves a feed that breaks the standard (signed all the same), ``slow`` answers after the
aggregator has stopped waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import msgspec

from ogp_federation.feed import encode, signing
from ogp_federation.feed.protocol import (
    DESCRIPTOR_PATH,
    FEED_PATH,
    JWKS_PATH,
    SIGNATURE_HEADER,
    SIGNATURE_SUFFIX,
    NodeDescriptor,
)
from ogp_federation.feed.reference import CommuneReference
from ogp_federation.feed.synth import generate_feed

__all__ = ["MISBEHAVIOURS", "SyntheticNodes"]

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
MISBEHAVIOURS = ("down", "invalid", "slow")


@dataclass
class _Node:
    descriptor: bytes
    feed: bytes
    signature: str
    etag: str
    jwks: bytes
    endorsements: bytes
    behaviour: str | None


class SyntheticNodes:
    """An ASGI app serving ``cuts`` as signed synthetic nodes at ``base/<cut>``; ``misbehaving`` maps a
    CUT to one of :data:`MISBEHAVIOURS`; ``slow_seconds`` is how long a slow node makes the aggregator wait."""

    def __init__(
        self,
        base: str,
        cuts: list[str],
        *,
        misbehaving: dict[str, str] | None = None,
        slow_seconds: float = 10.0,
        reference: CommuneReference | None = None,
    ) -> None:
        self.slow_seconds = slow_seconds
        reference = reference or CommuneReference.packaged()
        self.nodes: dict[str, _Node] = {}
        for cut in cuts:
            key = signing.generate_key()
            behaviour = (misbehaving or {}).get(cut)
            body = encode(generate_feed(cut, commitments=4, seed=7, reference=reference))
            if behaviour == "invalid":  # well-formed JSON that breaks the standard: a sequence below zero
                document = msgspec.json.decode(body)
                document["sequence"] = -1
                body = msgspec.json.encode(document)
            url = f"{base}/{cut}"
            commune = reference.get(cut)
            descriptor = NodeDescriptor.at(
                url,
                cut=cut,
                name=commune.name if commune else cut,
                changes=None,
                software="ogp-federation demo (synthetic)",
            )
            jwks = json.dumps(signing.jwks_of([key])).encode()
            self.nodes[cut] = _Node(
                descriptor=msgspec.json.encode(descriptor),
                feed=body,
                signature=signing.sign(body, key),
                etag='"' + hashlib.sha256(body).hexdigest()[:16] + '"',
                jwks=jwks,
                endorsements=json.dumps([signing.sign(jwks, key)]).encode(),
                behaviour=behaviour,
            )

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        cut, _, rest = str(scope.get("path", "")).lstrip("/").partition("/")
        node = self.nodes.get(cut)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if node is None:
            await _answer(send, 404, b"{}")
            return
        path = "/" + rest
        if path == DESCRIPTOR_PATH:
            await _answer(send, 200, node.descriptor)
        elif path in (JWKS_PATH, JWKS_PATH + SIGNATURE_SUFFIX):
            await _answer(send, 200, node.jwks if path == JWKS_PATH else node.endorsements)
        elif path == FEED_PATH + SIGNATURE_SUFFIX:
            await _answer(send, 200, node.signature.encode(), content_type="application/jose")
        elif path == FEED_PATH:
            await self._feed(send, node, headers)
        else:
            await _answer(send, 404, b"{}")

    async def _feed(self, send: Send, node: _Node, headers: dict[str, str]) -> None:
        if node.behaviour == "down":
            await _answer(send, 503, b"{}", extra={"retry-after": "60"})
            return
        if node.behaviour == "slow":
            await asyncio.sleep(self.slow_seconds)
        if headers.get("if-none-match") == node.etag:
            await _answer(send, 304, b"", extra={"etag": node.etag})
            return
        await _answer(send, 200, node.feed, extra={"etag": node.etag, SIGNATURE_HEADER.lower(): node.signature})


async def _answer(
    send: Send, status: int, body: bytes, *, content_type: str = "application/json", extra: dict[str, str] | None = None
) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(name.encode(), value.encode()) for name, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
