"""The dashboard's pages on the full synthetic federation with a year of history: server time and weight.

346 synthetic communes are harvested over ``--versions`` rounds (a year of monthly versions by
default; see ``research.py``), then ``aggregator serve`` runs in its own process and this process asks
for every page ``--requests`` times with ``--clients`` concurrent clients. Printed per page: the server
time the page took to make (its ``Server-Timing``), p50 and p95, the answer time seen by the client,
and the page's weight (HTML and stylesheet: the pages have no script). Goal (issue 16): server time p95
≤ 100 ms; the overview ≤ 300 KB.

Run: ``python benchmarks/dashboard.py [--nodes 346] [--versions 12] [--requests 40] [--clients 4]``
(``--database-url URL --harvested`` measures a database an earlier run harvested and kept).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _databases import with_database
from compare import serve
from research import harvest_year

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.core.logs import configure_logging


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` (milliseconds in, milliseconds out)."""
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def pages(cuts: list[str]) -> dict[str, list[str]]:
    """Each page's paths: a commune's pages go round the communes (one commune asked for again and again
    would measure a cache, not the page)."""
    spread = cuts[1::7]  # every seventh commune: every region, a different one each request
    return {
        "overview": ["/"],
        "commune": [f"/comunas/{cut}" for cut in spread],
        "indicator": [f"/indicadores/hitos_a_tiempo?grupo=todas&comuna={cut}" for cut in spread],
        "library": ["/biblioteca?q=presupuesto+participativo"],
        "suggestions": ["/biblioteca?describir=presupuesto+participativo+con+seguimiento+de+obras"],
        "researchers": ["/investigadores"],
        "status": ["/status"],
    }


async def measure(base: str, paths: list[str], requests: int, clients: int) -> dict[str, float]:
    server_ms: list[float] = []
    client_ms: list[float] = []
    weight = 0
    queue = [paths[index % len(paths)] for index in range(1, requests + 1)]
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        first = await http.get(paths[0])  # warm up (and the page's weight)
        first.raise_for_status()
        weight = len(first.content)

        async def worker() -> None:
            while queue:
                path = queue.pop()
                started = time.perf_counter()
                answer = await http.get(path)
                client_ms.append((time.perf_counter() - started) * 1000)
                timing = answer.headers.get("server-timing", "")
                if "dur=" in timing:
                    server_ms.append(float(timing.split("dur=")[1].split(";")[0].split(",")[0]))

        await asyncio.gather(*(worker() for _ in range(clients)))
        css = len((await http.get("/static/web.css")).content)
    return {
        "server_p50_ms": statistics.median(server_ms) if server_ms else 0.0,
        "server_p95_ms": pct(server_ms, 95) if server_ms else 0.0,
        "client_p50_ms": statistics.median(client_ms),
        "client_p95_ms": pct(client_ms, 95),
        "weight_kb": (weight + css) / 1000,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    async def run(url: str) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as releases:
            if args.harvested:
                runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
            else:
                runtime = await harvest_year(url, args.nodes, args.versions, Path(releases))
            try:
                if not args.harvested:
                    await runtime.quality.compute()
                cuts = [node.cut for node in await runtime.registry.nodes()]
            finally:
                await runtime.stop()
        server, base = serve(url, args.workers)
        figures: dict[str, Any] = {}
        try:
            for name, paths in pages(cuts).items():
                if args.only and name not in args.only.split(","):
                    continue
                figures[name] = await measure(base, paths, args.requests, args.clients)
                f = figures[name]
                print(
                    f"{name:12} server p50 {f['server_p50_ms']:6.1f} ms, p95 {f['server_p95_ms']:6.1f} ms"
                    f" (goal ≤ 100) · client p50 {f['client_p50_ms']:6.1f} ms, p95 {f['client_p95_ms']:6.1f} ms"
                    f" · {f['weight_kb']:6.1f} KB"
                )
        finally:
            server.terminate()
            server.wait(10)
        return figures

    return await with_database(args.database_url, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=346)
    parser.add_argument("--versions", type=int, default=12)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="aggregator serve --workers")
    parser.add_argument("--only", help="the pages to measure, by name, comma-separated (default: every page)")
    parser.add_argument("--database-url")
    parser.add_argument(
        "--harvested", action="store_true", help="the database at --database-url already holds a run's federation"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)
    figures = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps(figures) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
