"""Push → visible: from an editor's change on a node to the new version in the aggregator's read API.

Runs on 127.0.0.1 in one process (like the demo): a node with the Peñalolén data and the aggregator
(SQLite), the node configured to push to the aggregator. Each iteration changes a milestone through the
node's admin API and polls the aggregator's read API until it serves the edited record. Goal (issue 4): ≤ 2 s.

Run: ``python benchmarks/push_latency.py [--changes 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn

from ogp_federation.aggregator.app import create_app as aggregator_app
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.settings import AggregatorSettings
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.cli.demo import _node, _Server

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
            latencies = []
            async with httpx.AsyncClient(timeout=10) as client:
                for number in range(changes):
                    current = await client.get(f"{node_url}/admin/api/milestones/verde-h3", headers=headers)
                    record = current.json() | {"progress": 40 + number}
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
            print(
                f"push → visible over {changes} changes: median {statistics.median(latencies):.3f} s, "
                f"max {max(latencies):.3f} s, min {min(latencies):.3f} s"
            )
            print("(includes the admin change itself: validation, signing and storage on the node)")
        finally:
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await aggregator.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=10)
    asyncio.run(main(parser.parse_args().changes))
