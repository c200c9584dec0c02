"""Harvest rounds against N synthetic node feeds served from another process on loopback addresses.

Each node is its own host (its own loopback address), so no connection is shared between nodes.
Reports, in one run: a full round over N nodes (fetch, verify, validate, store with history), an
unchanged round (all 304), the same URLs fetched by a bare async client with no verification or
storage (the floor: the harvester's own HTTP client and limits), the ratio full/floor, and peak memory
of this process; then a round where every node published one change, read through full feeds, and
another read through the nodes' change feeds, and the CPU of each stage of a full round.

On loopback the floor is only CPU: no network time for the harvester's work to overlap with. The same
rounds are then measured over modelled networks (``--networks``: round-trip time and bandwidth per
connection, applied by the feed server). With ``--large`` it then does a 10,000-node round (smaller
feeds). Goals (issue 4): full ≤ 1.5 × floor, unchanged ≤ 0.5 s, 10,000 nodes ≤ 60 s.

Run: ``python benchmarks/harvest.py [--nodes 346] [--commitments 10] [--database-url …] [--large]
[--networks 20:50,60:10]`` (default database: a throwaway PostgreSQL database on 127.0.0.1;
``--database-url sqlite+aiosqlite:///…`` for SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _databases import with_database
from _feed_server import address_of
from _synthetic import reference_for
from sqlalchemy import func, select, update

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.history import HarvestEvent, snapshot_records
from ogp_federation.aggregator.net import FetchLimits
from ogp_federation.aggregator.registry import Node
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.core.logs import configure_logging
from ogp_federation.core.process import tune_gc
from ogp_federation.feed import signing
from ogp_federation.feed.validation import validate_feed

HERE = Path(__file__).resolve().parent


def start_server(
    count: int,
    commitments: int,
    versions: int = 1,
    network: tuple[float, float] = (0.0, 0.0),
    options: tuple[str, ...] = (),
) -> tuple[subprocess.Popen[str], int]:
    """The feed server process and its port; ``network`` is (round trip in ms, Mbit/s per connection);
    ``options``: more of its command line (``--misbehave N``…)."""
    command = [sys.executable, str(HERE / "_feed_server.py"), "--count", str(count), "--commitments", str(commitments)]
    model = ["--rtt-ms", str(network[0]), "--mbps", str(network[1])]
    process = subprocess.Popen(
        [*command, "--versions", str(versions), *model, *options],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE)},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("ready"):
        raise SystemExit("feed server did not start")
    return process, int(line.split()[1])


async def run(
    count: int,
    commitments: int,
    database_url: str,
    label: str,
    workers: int = 0,
    *,
    changed: bool = False,
    network: tuple[float, float] = (0.0, 0.0),
) -> None:
    reference = reference_for(count)
    cuts = [c.cut for c in list(reference)[:count]]
    server, port = start_server(count, commitments, versions=3 if changed else 1, network=network)
    bases = [f"http://{address_of(i)}:{port}/{cut}" for i, cut in enumerate(cuts)]
    try:
        await prepare_database(database_url, reference)
        settings = AggregatorSettings(
            database_url=database_url,
            allowed_networks=["127.0.0.0/8"],
            scheduler=False,
            batch_size=count,
            concurrency=50,
            default_poll_interval=3600,
            lease_seconds=600,
            worker_id="bench",
        )
        runtime = AggregatorRuntime(settings, reference=reference)
        tune_gc()  # as `aggregator work` and `serve` do
        configure_logging(json=settings.json_logs)  # likewise (INFO: unchanged polls are not logged)
        try:
            started = time.perf_counter()
            for cut, base in zip(cuts, bases, strict=True):
                await runtime.registry.add_node(cut, base, trust_fetched_keys=True)
            print(f"[{label}] registered {count} nodes in {time.perf_counter() - started:.1f} s")
            urls = [f"{base}/feed/v1/plan.json" for base in bases]
            floors = [await bare_round(urls, runtime.fetcher.limits, settings.concurrency) for _ in range(ROUNDS)]
            if workers:
                label += f", {workers} worker processes"
                full = await process_round(runtime, cuts, database_url, workers)
                unchanged = [await process_round(runtime, cuts, database_url, workers) for _ in range(ROUNDS)]
            else:
                full = await timed_round(runtime, cuts)
                unchanged = [await timed_round(runtime, cuts, full_feed=True) for _ in range(ROUNDS)]
            floor = statistics.median(floors)
            typical = sorted(unchanged, key=lambda u: u[0])[len(unchanged) // 2]
            print(f"[{label}] bare async fetch (floor): {floor:7.2f} s  (median of {_runs(floors)})")
            print(f"[{label}] full round:               {full[0]:7.2f} s  {full[1]}")
            print(f"[{label}] unchanged round (304):    {typical[0]:7.2f} s  {typical[1]}")
            print(f"[{label}]   (median of {_runs([u[0] for u in unchanged])})")
            print(f"[{label}] full / floor:             {full[0] / floor:7.2f}")
            if changed:  # every node publishes one change, read once through the full feed, once through change pages
                httpx.get(f"http://{address_of(0)}:{port}/_publish").raise_for_status()
                by_feed = await timed_round(runtime, cuts, full_feed=True)
                httpx.get(f"http://{address_of(0)}:{port}/_publish").raise_for_status()
                by_pages = await timed_round(runtime, cuts)
                print(f"[{label}] changed round, full feeds:   {by_feed[0]:7.2f} s  {by_feed[1]}")
                print(f"[{label}] changed round, change feed:  {by_pages[0]:7.2f} s  {by_pages[1]}")
            # Measured before the CPU stages below, which hold every feed in memory at once (the harvester never does).
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"[{label}] peak memory of the aggregator process: {peak:.0f} MiB")
            if not workers and network == (0.0, 0.0):
                await cpu_stages(label, urls, runtime, floor, f"{bases[0]}/feed/v1/jwks.json")
        finally:
            await runtime.stop()
    finally:
        server.terminate()
        server.wait(timeout=10)


ROUNDS = 3  # the floor and the unchanged round are repeated; the median is reported


def _runs(seconds: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in seconds) + " s"


async def cpu_stages(label: str, urls: list[str], runtime: AggregatorRuntime, floor: float, jwks_url: str) -> None:
    """The CPU a full round needs besides fetching and storing: each stage over every feed, in this process."""
    fetched: list[tuple[bytes, str]] = []
    await bare_round(urls, runtime.fetcher.limits, runtime.settings.concurrency, keep=fetched)
    keys = signing.load_jwks(httpx.get(jwks_url).content)
    stages: dict[str, float] = {}
    started = time.process_time()
    for body, signature in fetched:
        signing.verify(body, signature, keys)
    stages["verify signatures"] = time.process_time() - started
    started = time.process_time()
    feeds = [validate_feed(body, reference=runtime.reference)[1] for body, _ in fetched]
    stages["validate (decode included)"] = time.process_time() - started
    started = time.process_time()
    for feed in feeds:
        assert feed is not None
        snapshot_records(feed)
    stages["snapshot records"] = time.process_time() - started
    for stage, seconds in stages.items():
        print(f"[{label}]   CPU to {stage + ':':28s}{seconds:6.2f} s")
    print(
        f"[{label}]   together {sum(stages.values()):.2f} s of CPU, against the {0.5 * floor:.2f} s that "
        "full ≤ 1.5 × floor leaves for everything but fetching"
    )


async def bare_round(
    urls: list[str], limits: FetchLimits, concurrency: int, keep: list[tuple[bytes, str]] | None = None
) -> float:
    """The same URLs through the same HTTP transport, pool settings and concurrency as a round, and nothing else.

    With ``keep``, the bodies and their signature headers are kept there.
    """
    semaphore = asyncio.Semaphore(concurrency)
    async with limits.session() as session:

        async def fetch(url: str) -> None:
            async with semaphore, session.get(url, allow_redirects=False) as response:
                body = await response.read()
                if response.status != 200:
                    raise SystemExit(f"{url}: HTTP {response.status}")
                if keep is not None:
                    keep.append((body, response.headers["ogp-signature"]))

        started = time.perf_counter()
        await asyncio.gather(*(fetch(url) for url in urls))
        return time.perf_counter() - started


def machine_cpu() -> float:
    """CPU seconds every process of this machine has used so far (busy time of all cores, from /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def timed_round(
    runtime: AggregatorRuntime, cuts: list[str], *, full_feed: bool = False
) -> tuple[float, dict[str, int]]:
    """One round over every node; ``full_feed`` makes it read full feeds (conditional GET), not change pages."""
    async with runtime.db.transaction() as session:
        values: dict[str, object] = {"next_poll_at": Node.created_at}
        if full_feed:
            values["full_fetched_at"] = None  # as if the periodic full fetch were due
        await session.execute(update(Node).values(**values))
    await runtime.fetcher.close()  # rounds are an interval apart: no connection left open from the last one
    started, cpu, machine = time.perf_counter(), time.process_time(), machine_cpu()
    summary = await runtime.scheduler.tick()
    elapsed = time.perf_counter() - started
    outcomes: dict[str, int] = {
        "cpu_ms_of_this_process": int((time.process_time() - cpu) * 1000),
        "cpu_ms_of_the_machine": int((machine_cpu() - machine) * 1000),  # PostgreSQL and the feed server included
    }
    for result in summary.results:
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    if len(summary.results) != len(cuts):
        raise SystemExit(f"round covered {len(summary.results)} of {len(cuts)} nodes")
    return elapsed, outcomes


async def process_round(
    runtime: AggregatorRuntime, cuts: list[str], database_url: str, workers: int
) -> tuple[float, dict[str, int]]:
    """A round done by ``workers`` `aggregator work` processes (started beforehand, idle until nodes are due)."""
    env = {
        **os.environ,
        "OGP_AGG_DATABASE_URL": database_url,
        "OGP_AGG_ALLOWED_NETWORKS": "127.0.0.0/8",
        "OGP_AGG_TICK_SECONDS": "0.05",
        "OGP_AGG_BATCH_SIZE": str(max(1, len(cuts) // workers // 2)),
        "OGP_AGG_SCHEDULER": "false",
        "OGP_AGG_LEASE_SECONDS": "600",
    }
    cli = str(Path(sys.executable).with_name("ogp-federation"))
    async with runtime.db.transaction() as session:  # nothing due while the workers start
        await session.execute(update(Node).values(next_poll_at=datetime.now(UTC) + timedelta(days=365)))
        before = await session.scalar(select(func.count()).select_from(HarvestEvent)) or 0
    expected = before + len(cuts)
    processes = [
        subprocess.Popen(
            [cli, "aggregator", "work", "--seconds", "600"],
            env={**env, "OGP_AGG_WORKER_ID": f"w{i}"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(workers)
    ]
    try:
        await asyncio.sleep(3)  # let them start (and find nothing due)
        async with runtime.db.transaction() as session:
            # full feeds (conditional GET): the unchanged round is the 304 round
            await session.execute(update(Node).values(next_poll_at=Node.created_at, full_fetched_at=None))
        started = time.perf_counter()
        while True:
            async with runtime.db.sessions() as session:
                done = await session.scalar(select(func.count()).select_from(HarvestEvent))
            if (done or 0) >= expected:
                break
            await asyncio.sleep(0.02)
        return time.perf_counter() - started, {"polls": int(done or 0) - before}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=346)
    parser.add_argument("--commitments", type=int, default=10, help="~10 KB of feed each (10 → ~100 KB)")
    parser.add_argument("--database-url")
    parser.add_argument("--large", action="store_true", help="Also a 10,000-node round (2 commitments each).")
    parser.add_argument("--workers", type=int, default=0, help="Harvest with N `aggregator work` processes.")
    parser.add_argument(
        "--networks",
        default="20:50,60:10",
        help="Modelled networks to measure too, as RTT_MS:MBPS pairs separated by commas ('' for none).",
    )
    args = parser.parse_args()
    label = f"{args.nodes} nodes"
    asyncio.run(
        with_database(
            args.database_url,
            lambda url: run(args.nodes, args.commitments, url, label, args.workers, changed=not args.workers),
        )
    )
    for profile in filter(None, args.networks.split(",")):
        rtt, _, mbps = profile.partition(":")
        network = (float(rtt), float(mbps))
        name = f"{label}, {network[0]:g} ms RTT, {network[1]:g} Mbit/s"
        asyncio.run(
            with_database(None, lambda url: run(args.nodes, args.commitments, url, name, network=network))  # noqa: B023
        )
    if args.large:
        asyncio.run(with_database(None, lambda url: run(10_000, 2, url, "10,000 nodes")))


if __name__ == "__main__":
    main()
