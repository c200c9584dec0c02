"""Research access at the federation's size: paging records, building a release, quotas across processes.

In one run, on a throwaway PostgreSQL database (or ``--database-url``):

1. 346 synthetic communes served on loopback (``_feed_server``) and harvested, then ``--versions`` − 1
   further rounds in which every commune publishes a change (a year of monthly versions by default);
2. a bulk release of all of it: wall time and peak memory (Python allocations, and the process's RSS);
3. one OAuth2 client paging every record through ``GET /api/v1/federation/records`` (1,000 a page) from
   ``aggregator serve`` in its own process: records per second;
4. quotas under two ``aggregator serve`` processes on the same database: a client with a quota of
   ``--quota`` requests a minute sends twice that many, alternating between them; no more than the
   quota (plus one per process) may succeed.

Run: ``python benchmarks/research.py [--nodes 346] [--versions 12] [--quota 200] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
from _databases import with_database
from _feed_server import address_of
from _synthetic import reference_for
from compare import serve
from harvest import bench_settings, start_server, timed_round

from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.core.logs import configure_logging


async def harvest_year(url: str, count: int, versions: int, releases: Path) -> AggregatorRuntime:
    reference = reference_for(count)
    cuts = [c.cut for c in list(reference)[:count]]
    server, port = start_server(count, 10, versions=versions)
    await prepare_database(url, reference)
    settings = bench_settings(url, count, releases_dir=str(releases))
    runtime = AggregatorRuntime(settings, reference=reference)
    try:
        for index, cut in enumerate(cuts):
            await runtime.registry.add_node(cut, f"http://{address_of(index)}:{port}/{cut}", trust_fetched_keys=True)
        started = time.perf_counter()
        await timed_round(runtime, cuts, full_feed=True)
        for _ in range(versions - 1):
            httpx.get(f"http://{address_of(0)}:{port}/_publish", timeout=60).raise_for_status()
            await timed_round(runtime, cuts, full_feed=True)
        print(f"harvested {count} communes × {versions} versions in {time.perf_counter() - started:.1f} s")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return runtime


async def build_release(runtime: AggregatorRuntime) -> dict[str, Any]:
    tracemalloc.start()
    started = time.perf_counter()
    view = await runtime.releases.build()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = sum(view.rows.values())
    print(
        f"release {view.id}: {view.files} files, {view.bytes / 1e6:.1f} MB, {rows:,} rows in {seconds:.1f} s; "
        f"peak Python allocations {peak / 2**20:.0f} MiB, process RSS peak {rss:.0f} MiB"
    )
    return {"release_seconds": seconds, "release_peak_mib": peak / 2**20, "rss_peak_mib": rss, "rows": rows}


async def page_records(url: str, runtime: AggregatorRuntime) -> dict[str, Any]:
    client, secret = await runtime.research.create_client(
        name="bench", contact="b@x.cl", scopes=["read"], quota_per_minute=100_000
    )
    server, base = serve(url)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            token = (
                await http.post(
                    "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
                )
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            path: str | None = "/api/v1/federation/records?limit=1000"
            records = pages = 0
            started = time.perf_counter()
            while path is not None:
                answer = await http.get(path, headers=auth)
                answer.raise_for_status()
                records += len(answer.json())
                pages += 1
                link = answer.headers.get("link")
                path = link.split(">")[0].lstrip("<") if link else None
            seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"one client paged {records:,} records in {pages} pages in {seconds:.1f} s: {records / seconds:,.0f} records/s"
    )
    return {"records": records, "records_per_second": records / seconds}


async def quotas(url: str, runtime: AggregatorRuntime, quota: int) -> dict[str, Any]:
    client, secret = await runtime.research.create_client(
        name="quota", contact="q@x.cl", scopes=["read"], quota_per_minute=quota
    )
    first, base_one = serve(url)
    second, base_two = serve(url)
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            token = (
                await http.post(
                    base_one + "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(client.client_id, secret),
                )
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            bases = [base_one, base_two]

            async def one(index: int) -> int:
                answer = await http.get(bases[index % 2] + "/api/v1/federation/records?limit=1", headers=auth)
                return answer.status_code

            while time.time() % 60 > 50:  # not across a minute's turn: one window for the whole test
                await asyncio.sleep(1)
            statuses = await asyncio.gather(*(one(n) for n in range(2 * quota)))
    finally:
        for server in (first, second):
            server.terminate()
            server.wait(10)
    allowed = statuses.count(200)
    print(
        f"quota {quota}/min across 2 processes: {allowed} allowed, {statuses.count(429)} refused with 429 "
        f"of {len(statuses)} (goal: at most {quota} + 1 per process)"
    )
    return {"quota": quota, "allowed": allowed, "refused": statuses.count(429)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    async def run(url: str) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as releases:
            runtime = await harvest_year(url, args.nodes, args.versions, Path(releases))
            try:
                figures = await build_release(runtime)
                figures |= await page_records(url, runtime)
                figures |= await quotas(url, runtime, args.quota)
            finally:
                await runtime.stop()
        return figures

    return await with_database(args.database_url, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=346)
    parser.add_argument("--versions", type=int, default=12)
    parser.add_argument("--quota", type=int, default=200)
    parser.add_argument("--database-url")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)
    figures = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps(figures) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
