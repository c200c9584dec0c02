"""A scriptable node server on 127.0.0.1 for aggregator tests, and helpers to build signed feeds.

The server speaks raw HTTP/1.1 over asyncio streams so that each path can misbehave exactly as a
broken node would: hang, drip, reset mid-body, send HTML, a gzip bomb, a redirect loop… By default a
path serves a real node's documents: descriptor, signed feed (with ETag and 304), signature and JWKS.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import ipaddress
import json
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from joserfc.jwk import OKPKey
from sqlalchemy import update

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.net import NetworkGuard
from ogp_federation.aggregator.registry import Node
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.feed import decode, encode, signing
from ogp_federation.feed.protocol import (
    CHANGES_TEMPLATE,
    ChangePage,
    NodeDescriptor,
)
from ogp_federation.feed.synth import generate_feed

Writer = asyncio.StreamWriter
CLI = str(Path(sys.executable).with_name("ogp-federation"))
Behaviour = Callable[[Writer, dict[str, str]], Awaitable[None]]


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    reason = {
        200: "OK",
        301: "Moved",
        302: "Found",
        304: "Not Modified",
        404: "Not Found",
        429: "Too Many",
        500: "Server Error",
    }.get(status, "X")
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class FakeNode:
    """One node's documents, signed with its own key; ``behaviour`` overrides the feed URL's answer."""

    cut: str
    key: OKPKey = field(default_factory=signing.generate_key)
    sequence: int = 1
    commitments: int = 2
    body: bytes = b""
    signature: str = ""
    behaviour: Behaviour | None = None
    delay: float = 0.0  # seconds the feed URL waits before answering (a slow node, still within the limits)
    published: list[OKPKey] = field(default_factory=list)  # keys in jwks.json (default: the signing key)
    endorsers: list[OKPKey] = field(default_factory=list)  # keys signing jwks.json (default: the signing key)
    offer_changes: bool = False  # advertise a change feed (pages served from ``change_pages``)
    change_pages: dict[int, tuple[bytes, str]] = field(default_factory=dict)  # since → (page, signature)

    def __post_init__(self) -> None:
        self.publish(self.sequence)

    def publish(self, sequence: int, body: bytes | None = None) -> None:
        """Serve a new signed version (synthetic feed of ``sequence``, or ``body`` as given)."""
        self.sequence = sequence
        self.body = (
            body
            if body is not None
            else encode(generate_feed(self.cut, commitments=self.commitments, seed=1, sequence=sequence))
        )
        self.signature = signing.sign(self.body, self.key)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    def add_change_page(self, page: ChangePage, key: OKPKey | None = None) -> bytes:
        """Serve ``page`` for its ``since``, signed by ``key`` (default: the node's key)."""
        body = msgspec.json.encode(page)
        self.change_pages[page.since] = (body, signing.sign(body, key or self.key))
        return body

    def jwks(self) -> bytes:
        return json.dumps(signing.jwks_of(self.published or [self.key])).encode()

    def endorsements(self) -> bytes:
        return json.dumps([signing.sign(self.jwks(), k) for k in self.endorsers or [self.key]]).encode()


class FakeNodeServer:
    """Serves many fake nodes under ``/<cut>/…`` on one loopback port, and records webhooks posted to ``/hooks/…``.

    With ``tls`` (a server context), it speaks HTTPS. Its URLs name ``host`` (a name must resolve to
    ``bind``, the loopback address it listens on).
    """

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1", bind: str = "127.0.0.1") -> None:
        self.nodes: dict[str, FakeNode] = {}
        self.requests: list[str] = []
        self.hooks: list[tuple[str, Any]] = []
        self.hosts: list[str] = []  # the Host header of each request
        self.server_names: list[str | None] = []  # the TLS SNI of each connection
        self.server: asyncio.Server | None = None
        self.port = 0
        self.tls, self.host, self.bind = tls, host, bind
        self._handlers: set[asyncio.Task[Any]] = set()  # connections being answered (a hanging node's included)
        if tls is not None:
            tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)

    def base(self, cut: str) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/{cut}"

    def add(self, node: FakeNode) -> FakeNode:
        self.nodes[node.cut] = node
        return node

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, self.bind, 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for handler in list(self._handlers):  # a behaviour still hanging: its connection is closed now
                handler.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path = request_line.split(" ")[:2]
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
            self.requests.append(path)
            self.hosts.append(headers.get("host", ""))
            if method == "POST" and path.startswith("/hooks/"):  # a webhook receiver on the same port
                body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), 5)
                self.hooks.append((path, json.loads(body)))
                writer.write(response(204))
                await writer.drain()
                return
            await self._answer(path, headers, writer)
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        except asyncio.CancelledError:  # stop() ends a hanging behaviour; the task ends normally (no asyncio error)
            pass
        finally:
            if handler is not None:
                self._handlers.discard(handler)
            with contextlib.suppress(Exception):
                writer.close()

    @staticmethod
    def _change_page(node: FakeNode, since: int) -> bytes:
        page = node.change_pages.get(since)
        if page is None:
            return response(404)
        return response(200, page[0], {"OGP-Signature": page[1], "Content-Type": "application/json"})

    @staticmethod
    async def _feed(node: FakeNode, headers: dict[str, str], writer: Writer) -> None:
        if node.behaviour is not None:
            await node.behaviour(writer, headers)
            return
        if node.delay:
            await asyncio.sleep(node.delay)
        if headers.get("if-none-match") == node.etag:
            writer.write(response(304, headers={"ETag": node.etag}))
            return
        extra = {"ETag": node.etag, "OGP-Signature": node.signature, "Content-Type": "application/json"}
        writer.write(response(200, node.body, extra))

    async def _answer(self, path: str, headers: dict[str, str], writer: Writer) -> None:
        cut, _, rest = path.lstrip("/").partition("/")
        node = self.nodes.get(cut)
        if node is None:
            writer.write(response(404))
            return
        base = self.base(cut)
        if rest == ".well-known/ogp-node":
            changes = CHANGES_TEMPLATE if node.offer_changes else None
            descriptor = NodeDescriptor.at(base, cut=cut, name=cut, changes=changes)
            writer.write(response(200, msgspec.json.encode(descriptor)))
        elif rest.startswith("feed/v1/changes?since="):
            writer.write(self._change_page(node, int(rest.rpartition("=")[2])))
        elif rest == "feed/v1/jwks.json":
            writer.write(response(200, node.jwks()))
        elif rest == "feed/v1/jwks.json.sig":
            writer.write(response(200, node.endorsements()))
        elif rest == "feed/v1/plan.json.sig":
            writer.write(response(200, node.signature.encode()))
        elif rest == "feed/v1/plan.json":
            await self._feed(node, headers, writer)
        else:
            writer.write(response(404))
        await writer.drain()


@contextlib.asynccontextmanager
async def fake_nodes(
    tls: ssl.SSLContext | None = None, host: str = "127.0.0.1", bind: str = "127.0.0.1"
) -> AsyncIterator[FakeNodeServer]:
    server = FakeNodeServer(tls, host, bind)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def test_settings(database_url: str, **overrides: Any) -> AggregatorSettings:
    """Aggregator settings for tests: loopback allowed, small limits, short timeouts, no background ticks."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "allowed_networks": ["127.0.0.0/8"],
        "scheduler": False,
        "check_on_registration": False,  # the conformance checks' own tests turn them on
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 2.5,
        "max_bytes": 512 * 1024,
        "max_decompressed_bytes": 2 * 1024 * 1024,
        "retry_base_seconds": 30,
        "worker_id": "test",
        "default_poll_interval": 3600,
    }
    values.update(overrides)
    return AggregatorSettings(**values)


@contextlib.asynccontextmanager
async def aggregator(database_url: str, **overrides: Any) -> AsyncIterator[AggregatorRuntime]:
    await prepare_database(database_url)
    runtime = AggregatorRuntime(test_settings(database_url, **overrides))
    try:
        yield runtime
    finally:
        await runtime.stop()


def start_worker(database_url: str, name: str, seconds: float = 120, **extra: str) -> subprocess.Popen[bytes]:
    """An ``aggregator work`` process named ``name`` (ticking every 50 ms, leases of 5 s; ``extra``: settings)."""
    env = {
        **os.environ,
        "OGP_AGG_DATABASE_URL": database_url,
        "OGP_AGG_ALLOWED_NETWORKS": "127.0.0.0/8",
        "OGP_AGG_TICK_SECONDS": "0.05",
        "OGP_AGG_WORKER_ID": name,
        "OGP_AGG_LEASE_SECONDS": "5",
        "OGP_AGG_SCHEDULER": "false",
        **extra,
    }
    return subprocess.Popen(
        [CLI, "aggregator", "work", "--seconds", str(seconds)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def make_due(runtime: AggregatorRuntime, *cuts: str) -> None:
    """Make nodes due now (as if their interval had passed), with no open circuit."""
    async with runtime.db.transaction() as session:
        await session.execute(
            update(Node)
            .where(Node.cut.in_(cuts))
            .values(next_poll_at=datetime.now(UTC) - timedelta(seconds=1), circuit_open_until=None)
        )


class LoopbackNames(NetworkGuard):
    """The guard, with every host name resolving to 127.0.0.1 (there is no DNS server to ask here)."""

    @staticmethod
    async def _resolve(host: str, port: int) -> list[Any]:
        assert host.isascii(), host  # names reach DNS as punycode
        try:
            return [ipaddress.ip_address(host.strip("[]"))]  # an address literal is not looked up
        except ValueError:
            return [ipaddress.ip_address("127.0.0.1")]


def gzip_bomb(size: int) -> bytes:
    return gzip.compress(b"{" + b" " * size + b"}", compresslevel=9)


def tmp_db(tmp: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp / 'agg.db'}"


def feed_doc(body: bytes) -> dict[str, Any]:
    return msgspec.json.decode(body)


FIXTURE_COMMUNES = {"13122": "penalolen", "13119": "maipu", "13128": "renca"}


async def harvest_fixtures(runtime: AggregatorRuntime, server: FakeNodeServer, communes: dict[str, str]) -> None:
    """Serve each fixture feed (``{cut: name}``) from a signing fake node, register and harvest them all."""
    from conftest import FEEDS  # noqa: PLC0415

    for cut, name in communes.items():
        body = (FEEDS / f"{name}.json").read_bytes()
        server.add(FakeNode(cut)).publish(decode(body).sequence, body)
        await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
    await runtime.scheduler.tick()
