"""A loopback server of N signed synthetic node feeds, for benchmarks/harvest.py (run as a separate process).

Serves ``/<cut>/.well-known/ogp-node``, ``/<cut>/feed/v1/plan.json`` (ETag, 304), ``.sig`` and ``jwks.json``.
Prints ``ready <port>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json

from _synthetic import reference_for

from ogp_federation.feed import encode, signing
from ogp_federation.feed.synth import generate_feed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--commitments", type=int, default=10)
    args = parser.parse_args()
    reference = reference_for(args.count)
    key = signing.generate_key()
    jwks = json.dumps(signing.jwks_of([key])).encode()
    feeds: dict[str, tuple[bytes, str, str]] = {}
    for commune in list(reference)[: args.count]:
        body = encode(generate_feed(commune.cut, commitments=args.commitments, seed=7, reference=reference))
        feeds[commune.cut] = (body, signing.sign(body, key), '"' + hashlib.sha256(body).hexdigest()[:16] + '"')

    def reply(writer: asyncio.StreamWriter, status: int, body: bytes = b"", headers: str = "") -> None:
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                cut, _, rest = path.lstrip("/").partition("/")
                feed = feeds.get(cut)
                port = writer.get_extra_info("sockname")[1]
                if feed is None:
                    reply(writer, 404)
                elif rest == ".well-known/ogp-node":
                    base = f"http://127.0.0.1:{port}/{cut}"
                    reply(
                        writer,
                        200,
                        json.dumps(
                            {
                                "cut": cut,
                                "name": cut,
                                "feed_url": f"{base}/feed/v1/plan.json",
                                "signature_url": f"{base}/feed/v1/plan.json.sig",
                                "jwks_url": f"{base}/feed/v1/jwks.json",
                            }
                        ).encode(),
                    )
                elif rest == "feed/v1/jwks.json":
                    reply(writer, 200, jwks)
                elif rest == "feed/v1/plan.json.sig":
                    reply(writer, 200, feed[1].encode())
                elif headers.get("if-none-match") == feed[2]:
                    reply(writer, 304, b"", f"ETag: {feed[2]}\r\n")
                else:
                    reply(writer, 200, feed[0], f"ETag: {feed[2]}\r\nOGP-Signature: {feed[1]}\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
