"""Requests per second of the node's feed endpoint against a plain Litestar endpoint with the same bytes.

Starts, on 127.0.0.1: a node (SQLite, ~100 KB synthetic feed) with `ogp-federation node serve` and a
plain Litestar app returning the same bytes, both single-worker uvicorn. Then drives each for a fixed
time with the same async client and prints, in one run: full feed (200), conditional GET (304), plain
endpoint (200), and the ratios. Goal (issue 3): the feed endpoint at ≥ 50 % of the plain endpoint.

Run: ``python benchmarks/node_feed.py [--seconds 5] [--concurrency 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

from ogp_federation.feed import COLLECTIONS
from ogp_federation.feed.model import Contact
from ogp_federation.feed.synth import commitments_for_bytes, generate_feed
from ogp_federation.node.records import ReplaceAll
from ogp_federation.node.runtime import NodeRuntime
from ogp_federation.node.settings import load_settings
from ogp_federation.node.setup import init_node

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def prepare(folder: Path, port: int) -> Path:
    await init_node(
        folder / "node.toml",
        cut="13122",
        data_dir=folder / "data",
        public_url=f"http://127.0.0.1:{port}",
        contact=Contact(name="GA"),
    )
    settings = load_settings(folder / "node.toml")
    document = msgspec.to_builtins(generate_feed("13122", commitments=commitments_for_bytes(100_000)))
    runtime = NodeRuntime(settings)
    snapshot = await runtime.change(
        [ReplaceAll({c.entity: document.get(c.entity.value, []) for c in COLLECTIONS})], author="bench"
    )
    await runtime.db.close()
    body = folder / "plan.json"
    body.write_bytes(snapshot.body)
    return body


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not start")


async def drive(url: str, seconds: float, concurrency: int, headers: dict[str, str]) -> tuple[float, int]:
    """Requests per second over ``seconds`` with ``concurrency`` keep-alive connections; and the status."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    statuses: set[int] = set()
    count = 0
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        await client.get(url, headers=headers)  # warm up
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < stop:
                response = await client.get(url, headers=headers)
                statuses.add(response.status_code)
                count += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    if len(statuses) != 1:
        raise SystemExit(f"{url}: mixed statuses {statuses}")
    return count / elapsed, statuses.pop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        node_port, plain_port = free_port(), free_port()
        body = asyncio.run(prepare(folder, node_port))
        cli = str(Path(sys.executable).with_name("ogp-federation"))
        env = {**os.environ, "PLAIN_BODY": str(body), "PYTHONPATH": str(HERE)}
        servers = [
            subprocess.Popen(
                [cli, "node", "serve", "--config", str(folder / "node.toml"), "--port", str(node_port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "_plain_app:app_factory",
                    "--port",
                    str(plain_port),
                    "--host",
                    "127.0.0.1",
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        ]
        try:
            feed_url = f"http://127.0.0.1:{node_port}/feed/v1/plan.json"
            plain_url = f"http://127.0.0.1:{plain_port}/plan.json"
            wait_ready(feed_url)
            wait_ready(plain_url)
            etag = httpx.get(feed_url).headers["etag"]
            print(f"feed: {body.stat().st_size:,} bytes; {args.concurrency} connections, {args.seconds:.0f} s each")
            results = {}
            for label, url, headers in (
                ("plain Litestar endpoint, same bytes (200)", plain_url, {}),
                ("node feed, full (200)", feed_url, {}),
                ("node feed, conditional (304)", feed_url, {"If-None-Match": etag}),
            ):
                rate, status = asyncio.run(drive(url, args.seconds, args.concurrency, headers))
                results[label] = rate
                print(f"{label:<44} {rate:8.0f} req/s  (HTTP {status})")
            plain = results["plain Litestar endpoint, same bytes (200)"]
            print(f"full feed / plain endpoint: {results['node feed, full (200)'] / plain:.0%}")
            print(f"304 / plain endpoint:       {results['node feed, conditional (304)'] / plain:.0%}")
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)


if __name__ == "__main__":
    main()
