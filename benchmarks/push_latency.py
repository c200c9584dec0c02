"""Push → visible: from an editor's change on a node to the new version in the aggregator's read API.

Runs on 127.0.0.1 in one process (like the demo): a node with the Peñalolén data and the aggregator
(SQLite, its scheduler running), the node configured to push to the aggregator. Each iteration changes a
milestone through the node's admin API and polls the aggregator's read API until it serves the edited
record. Measured twice: with the aggregator idle, then while its scheduled round waits on another node
that never answers its feed (a slow commune). Goal (issue 4): ≤ 2 s.

Run: ``python benchmarks/push_latency.py [--changes 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn

from ogp_federation.aggregator.app import create_app as aggregator_app
from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.cli.demo import _node, _Server
from ogp_federation.feed import signing

ROOT = Path(__file__).resolve().parents[1]
CUT = "13122"


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def main(changes: int) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    from ogp_federation.node.app import create_app as node_app  # noqa: PLC0415
    from ogp_federation.node.runtime import NodeRuntime  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        agg_port, node_port = free_port(), free_port()
        agg_url, node_url = f"http://127.0.0.1:{agg_port}", f"http://127.0.0.1:{node_port}"
        settings = await _node(folder, CUT, "penalolen.json", ROOT / "fixtures" / "feeds", node_url, agg_url)
        staff = NodeRuntime(settings)
        await staff.staff.create_user("bench", "una-clave-bastante-larga", "editor")
        token = await staff.staff.create_token("bench")
        await staff.db.close()
        database_url = f"sqlite+aiosqlite:///{folder / 'aggregator.db'}"
        await prepare_database(database_url)
        aggregator = AggregatorRuntime(
            AggregatorSettings(
                database_url=database_url,
                allowed_networks=["127.0.0.0/8"],
                push_min_seconds=0,
                worker_id="bench",
                read_timeout=120,  # the slow node holds its round open for the whole measurement
                total_timeout=120,
            )
        )
        servers = [
            _Server(
                uvicorn.Config(
                    aggregator_app(aggregator.settings, runtime=aggregator),
                    host="127.0.0.1",
                    port=agg_port,
                    log_level="warning",
                )
            ),
            _Server(uvicorn.Config(node_app(settings), host="127.0.0.1", port=node_port, log_level="warning")),
        ]
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        try:
            while not all(server.started for server in servers):
                await asyncio.sleep(0.05)
            await aggregator.registry.add_node(CUT, node_url, trust_fetched_keys=True)
            await aggregator.scheduler.tick()
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(timeout=10) as client:
                idle = await measure(client, node_url, agg_url, headers, changes, first_progress=40)
                report("aggregator idle", idle)
                slow = await SlowNode.start()
                await aggregator.registry.add_node(SLOW_CUT, slow.base, trust_fetched_keys=True)
                while not slow.feed_requested.is_set():  # the scheduled round now waits on the slow node
                    await asyncio.sleep(0.05)
                busy = await measure(client, node_url, agg_url, headers, changes, first_progress=60)
                report("while a round waits on a node that never answers", busy)
                slow.close()
            print("(includes the admin change itself: validation, signing and storage on the node)")
        finally:
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await aggregator.stop()


async def measure(  # noqa: PLR0917 (a benchmark's knobs)
    client: httpx.AsyncClient, node_url: str, agg_url: str, headers: dict[str, str], changes: int, first_progress: int
) -> list[float]:
    """Seconds from each milestone change on the node to the aggregator's read API serving it."""
    latencies = []
    for number in range(changes):
        current = await client.get(f"{node_url}/admin/api/milestones/verde-h3", headers=headers)
        record = current.json() | {"progress": first_progress + number}
        started = time.perf_counter()
        changed = await client.put(
            f"{node_url}/admin/api/milestones/verde-h3",
            json=record,
            headers={**headers, "If-Match": current.headers["ETag"]},
        )
        changed.raise_for_status()
        while True:  # visible = the aggregator's read API serves the edited record
            seen = await client.get(f"{agg_url}/api/v1/communes/{CUT}/records/milestones")
            if any(m["id"] == "verde-h3" and m["progress"] == record["progress"] for m in seen.json()):
                break
            if time.perf_counter() - started > 30:
                raise SystemExit("the change did not reach the aggregator within 30 s")
            await asyncio.sleep(0.01)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.3)
    return latencies


def report(label: str, latencies: list[float]) -> None:
    print(
        f"push → visible, {label}, over {len(latencies)} changes: median {statistics.median(latencies):.3f} s, "
        f"max {max(latencies):.3f} s, min {min(latencies):.3f} s"
    )


SLOW_CUT = "13119"


class SlowNode:
    """A node on 127.0.0.1 that answers its descriptor and keys but never its feed."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.base = ""
        self.key = signing.generate_key()
        self.feed_requested = asyncio.Event()
        self._hanging: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls) -> SlowNode:
        node = cls()
        node.server = await asyncio.start_server(node.answer, "127.0.0.1", 0)
        node.base = f"http://127.0.0.1:{node.server.sockets[0].getsockname()[1]}"
        return node

    async def answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        path = (await reader.readuntil(b"\r\n\r\n")).split(b" ")[1].decode()
        documents = {
            "/.well-known/ogp-node": {
                "cut": SLOW_CUT,
                "name": "Maipú",
                "feed_url": f"{self.base}/feed/v1/plan.json",
                "signature_url": f"{self.base}/feed/v1/plan.json.sig",
                "jwks_url": f"{self.base}/feed/v1/jwks.json",
            },
            "/feed/v1/jwks.json": signing.jwks_of([self.key]),
        }
        if path in documents:
            body = json.dumps(documents[path]).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            writer.close()
            return
        self.feed_requested.set()
        task = asyncio.current_task()
        if task is not None:
            self._hanging.add(task)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)  # never answers
        writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in self._hanging:
            task.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=10)
    asyncio.run(main(parser.parse_args().changes))
