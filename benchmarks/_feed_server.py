"""A loopback server of N signed synthetic node feeds, for benchmarks/harvest.py (run as a separate process).

Each node is its own host, as in the federation: node *i* listens on its own loopback address
(:func:`address_of`), all on one port, so no connection is shared between nodes. Serves
``/<cut>/.well-known/ogp-node`` (with a change-feed template), ``/<cut>/feed/v1/plan.json`` (ETag, 304),
``.sig``, ``jwks.json`` and signed ``/<cut>/feed/v1/changes?since=N``. With ``--versions K``,
``GET /_publish`` makes every node publish its next version (one more milestone completed), up to K.
With ``--misbehave N`` every N-th node misbehaves, in turn: ``down`` (503), ``invalid`` (a signed feed
that breaks the standard) and ``slow`` (answers after ``--slow-seconds``); ``GET /_misbehaving`` lists them.

A network can be modelled: ``--rtt-ms`` delays each new connection by one round trip (the TCP
handshake) and each response by another (request to first byte); ``--mbps`` paces each response's bytes
at that rate per connection. Prints ``ready <port>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import json
import resource
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from _synthetic import reference_for

from ogp_federation.feed import Entity, encode, signing
from ogp_federation.feed.protocol import (
    CHANGES_TEMPLATE,
    Change,
    ChangePage,
    NodeDescriptor,
)
from ogp_federation.feed.synth import generate_feed

FIRST_ADDRESS = ipaddress.IPv4Address("127.1.0.1")


def address_of(index: int) -> str:
    """The loopback address of the ``index``-th node (127.1.0.1, 127.1.0.2, …)."""
    return str(FIRST_ADDRESS + index)


@dataclass(frozen=True)
class Network:
    """A modelled network: a round-trip time and a per-connection bandwidth (0: none, as loopback is)."""

    rtt: float = 0.0  # seconds
    bytes_per_second: float = 0.0

    async def send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Write ``data`` after one round trip, paced at the bandwidth."""
        if self.rtt:
            await asyncio.sleep(self.rtt)
        if not self.bytes_per_second:
            writer.write(data)
            await writer.drain()
            return
        chunk = max(1460, int(self.bytes_per_second * 0.005))  # about 5 ms of bytes at a time
        started = time.monotonic()
        for offset in range(0, len(data), chunk):
            writer.write(data[offset : offset + chunk])
            await writer.drain()
            ahead = (offset + chunk) / self.bytes_per_second - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)


@dataclass(frozen=True)
class Version:
    """A signed document and its ETag."""

    body: bytes
    signature: str
    etag: str


MISBEHAVIOURS = ("down", "invalid", "slow")


class FeedServer:
    """Every node's versions, the one published now, and the change pages between them."""

    def __init__(  # noqa: PLR0917 (the command line's options)
        self, count: int, commitments: int, versions: int, network: Network, misbehave: int = 0, slow: float = 0.0
    ) -> None:
        reference = reference_for(count)
        self.network = network
        self.slow = slow
        cuts = [commune.cut for commune in list(reference)[:count]]
        every = [cut for index, cut in enumerate(cuts) if misbehave and index % misbehave == misbehave - 1]
        self.misbehaving = {cut: MISBEHAVIOURS[number % 3] for number, cut in enumerate(every)}
        self.key = signing.generate_key()
        self.jwks = json.dumps(signing.jwks_of([self.key])).encode()
        self.last = versions
        self.sequence = 1
        self.versions: dict[str, list[Version]] = {}
        self.changes: dict[str, list[Change]] = {}  # changes[cut][k]: what version k + 2 changed
        self.pages: dict[tuple[str, int, int], Version] = {}
        for commune in list(reference)[:count]:
            feed = generate_feed(commune.cut, commitments=commitments, seed=7, reference=reference)
            self.versions[commune.cut], self.changes[commune.cut] = [self.sign(encode(feed))], []
            document = msgspec.to_builtins(feed)
            pending = (m for m in document["milestones"] if m["status"] != "completed")
            for number in range(2, versions + 1):
                milestone = next(pending)
                generated_at = feed.generated_at + timedelta(minutes=number)
                done = min(milestone["due"], generated_at.date().isoformat())  # completed by the version's date
                milestone.update(status="completed", progress=100, completed_on=done)
                document.update(sequence=number, generated_at=generated_at.isoformat())
                self.versions[commune.cut].append(self.sign(msgspec.json.encode(document)))
                self.changes[commune.cut].append(
                    Change(entity=Entity.MILESTONES, id=milestone["id"], sequence=number, record=dict(milestone))
                )

    def sign(self, body: bytes) -> Version:
        return Version(body, signing.sign(body, self.key), '"' + hashlib.sha256(body).hexdigest()[:16] + '"')

    def change_page(self, cut: str, since: int) -> Version | None:
        until = self.sequence
        if not 1 <= since <= until:
            return None
        if (cut, since, until) not in self.pages:
            page = ChangePage(
                cut=cut,
                since=since,
                until=until,
                generated_at=datetime.now(UTC),
                changes=self.changes[cut][since - 1 : until - 1],
            )
            self.pages[(cut, since, until)] = self.sign(msgspec.json.encode(page))
        return self.pages[(cut, since, until)]

    def answer(self, path: str, headers: dict[str, str], host: str) -> tuple[int, bytes, str]:
        """Status, body and extra header lines for one request."""
        if path.startswith("/_"):
            return self.control(path)
        cut, _, rest = path.lstrip("/").partition("/")
        if cut not in self.versions:
            return 404, b"", ""
        feed = self.versions[cut][self.sequence - 1]
        base = f"http://{host}/{cut}"
        offers = cut not in self.misbehaving  # (a misbehaving node's feed is read: it offers no change feed)
        descriptor = NodeDescriptor.at(base, cut=cut, name=cut, changes=CHANGES_TEMPLATE if offers else None)
        documents = {
            ".well-known/ogp-node": msgspec.json.encode(descriptor),
            "feed/v1/jwks.json": self.jwks,
            "feed/v1/plan.json.sig": feed.signature.encode(),
        }
        if rest in documents:
            return 200, documents[rest], ""
        if rest.startswith("feed/v1/changes?since="):
            page = self.change_page(cut, int(rest.rpartition("=")[2]))
            return (410, b"", "") if page is None else (200, page.body, f"OGP-Signature: {page.signature}\r\n")
        return self.feed(cut, feed, headers)

    def feed(self, cut: str, feed: Version, headers: dict[str, str]) -> tuple[int, bytes, str]:
        """The feed as published now (304 when the client has it), or its node's misbehaviour."""
        if self.misbehaving.get(cut) in ("down", "invalid"):
            return self.misbehave(self.misbehaving[cut], feed)
        if headers.get("if-none-match") == feed.etag:
            return 304, b"", f"ETag: {feed.etag}\r\n"
        return 200, feed.body, f"ETag: {feed.etag}\r\nOGP-Signature: {feed.signature}\r\n"

    def control(self, path: str) -> tuple[int, bytes, str]:
        """``/_publish``: every node publishes its next version; ``/_misbehaving``: which nodes misbehave, how."""
        if path == "/_publish":
            self.sequence = min(self.sequence + 1, self.last)
            return 200, str(self.sequence).encode(), ""
        if path == "/_misbehaving":
            return 200, json.dumps(self.misbehaving).encode(), ""
        return 404, b"", ""

    def misbehave(self, behaviour: str, feed: Version) -> tuple[int, bytes, str]:
        """A down node's answer, or an invalid node's feed: signed, but no sequence is below one."""
        if behaviour == "down":
            return 503, b"", "Retry-After: 1\r\n"
        broken = self.sign(feed.body.replace(b'"sequence":', b'"sequence":-', 1))
        return 200, broken.body, f"OGP-Signature: {broken.signature}\r\n"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.network.rtt:  # the handshake's round trip
                await asyncio.sleep(self.network.rtt)
            address, port = writer.get_extra_info("sockname")[:2]
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                path = lines[0].split(" ")[1]
                status, body, extra = self.answer(path, headers, f"{address}:{port}")
                if self.misbehaving.get(path.split("/")[1]) == "slow" and path.endswith("/plan.json"):
                    await asyncio.sleep(self.slow)
                head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
                await self.network.send(writer, head + body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--commitments", type=int, default=10)
    parser.add_argument("--versions", type=int, default=1, help="Versions per node (each completes a milestone).")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="Modelled round-trip time.")
    parser.add_argument("--mbps", type=float, default=0.0, help="Modelled bandwidth per connection (Mbit/s).")
    parser.add_argument("--misbehave", type=int, default=0, help="Every N-th node misbehaves (0: none).")
    parser.add_argument("--slow-seconds", type=float, default=10.0, help="How long a slow node takes to answer.")
    args = parser.parse_args()
    network = Network(args.rtt_ms / 1000, args.mbps * 1_000_000 / 8)
    feeds = FeedServer(args.count, args.commitments, args.versions, network, args.misbehave, args.slow_seconds)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # a listening socket per node, and their connections
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 2 * args.count + 1024)), hard))

    async def serve() -> None:
        first = await asyncio.start_server(feeds.handle, address_of(0), 0, backlog=1024)
        port = first.sockets[0].getsockname()[1]
        hosts = [address_of(i) for i in range(1, args.count)]
        servers = [first]
        if hosts:
            servers.append(await asyncio.start_server(feeds.handle, hosts, port, backlog=64))
        print(f"ready {port}", flush=True)
        await asyncio.gather(*(server.serve_forever() for server in servers))

    asyncio.run(serve())


if __name__ == "__main__":
    main()
