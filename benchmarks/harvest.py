"""Harvest rounds against N synthetic node feeds served from another process on loopback addresses.

Each node is its own host (its own loopback address), so no connection is shared between nodes.
Measured in one run, each beside what the same work costs:

- the **full first round** (fetch, verify, validate, store with history) against the **floor** (the same
  URLs fetched by a bare async client with the harvester's own HTTP client and limits) and against the
  **peer**, a Scrapy crawl of the same URLs that only fetches and parses (``pip install scrapy``; left
  out when it is not installed);
- the **unchanged round** (every node answers 304);
- a **changed round through full feeds** (every node published one change: one milestone completed)
  against its **work floor**: a bare fetch of the same bodies, the CPU to verify and validate them, and a
  COPY into PostgreSQL of the very rows the round wrote;
- a **changed round through change pages** (another change, read through the nodes' change feeds)
  against the unchanged round.

On loopback the floor is only CPU; the same rounds are then measured over modelled networks
(``--networks``: round-trip time and bandwidth per connection, applied by the feed server). With
``--large`` it then does a 10,000-node round (smaller feeds). The harvest's own log lines go to
/dev/null (their cost stays in the figures); ``--json`` writes every figure. Goals (issue 17), each a
ratio in the same run: changed through full feeds ≤ 1.3 × its work floor; changed through change pages
≤ 1.5 × the unchanged round; full ≤ 1.0 × the Scrapy crawl, and ≤ 1.3 × the floor on the 60 ms /
10 Mbit/s network; unchanged ≤ 0.5 s; 10,000 nodes ≤ 30 s.

Run: ``python benchmarks/harvest.py [--nodes 346] [--commitments 10] [--database-url …] [--large]
[--networks 20:50,60:10] [--json figures.json]`` (default database: a throwaway PostgreSQL database on
127.0.0.1; ``--database-url sqlite+aiosqlite:///…`` for SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _databases import with_database
from _feed_server import address_of
from _synthetic import reference_for
from sqlalchemy import func, select, text, update

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.history import HarvestEvent, snapshot_records
from ogp_federation.aggregator.net import FetchLimits
from ogp_federation.aggregator.registry import Node
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.core.logs import configure_logging
from ogp_federation.core.process import tune_gc
from ogp_federation.feed import CommuneReference, signing
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
    peer: bool = True,
) -> dict[str, Any]:
    """One run's figures (seconds, ratios, outcomes), printed as they are measured; ``peer``: crawl with Scrapy too."""
    reference = reference_for(count)
    cuts = [c.cut for c in list(reference)[:count]]
    server, port = start_server(count, commitments, versions=3 if changed else 1, network=network)
    bases = [f"http://{address_of(i)}:{port}/{cut}" for i, cut in enumerate(cuts)]
    figures: dict[str, Any] = {"label": label, "nodes": count}

    def say(name: str, value: float, detail: str = "") -> None:
        figures[name] = value
        print(f"[{label}] {name.replace('_', ' ') + ':':44s}{value:8.2f} {detail}", flush=True)

    reset_peak()  # (an earlier run of this process must not count in this one's peak)
    try:
        await prepare_database(database_url, reference)
        settings = bench_settings(database_url, count)
        runtime = AggregatorRuntime(settings, reference=reference)
        tune_gc()  # as `aggregator work` and `serve` do
        # As they do too (INFO: a line per changed poll), but into /dev/null: the cost stays, the noise goes.
        configure_logging(json=settings.json_logs, stream=QUIET)
        try:
            for cut, base in zip(cuts, bases, strict=True):
                await runtime.registry.add_node(cut, base, trust_fetched_keys=True)
            urls = [f"{base}/feed/v1/plan.json" for base in bases]
            floors = [await bare_round(urls, runtime.fetcher.limits, settings.concurrency) for _ in range(ROUNDS)]
            floor = statistics.median(floors)
            say("floor_seconds", floor, f"s  bare async fetch (median of {_runs(floors)})")
            crawl = scrapy_crawl(urls, settings.concurrency) if peer else None
            if crawl is not None:
                say("scrapy_seconds", crawl, "s  the peer: a Scrapy crawl of the same URLs (fetch and parse only)")

            one_round = rounds_by(runtime, cuts, database_url, workers, communes_file(reference, count, workers))
            label = figures["label"] = f"{label}, {workers} worker processes" if workers else label
            before = await _last_ids(runtime)
            full = await one_round(True)
            accepted_all(label, count, full[1])
            written = await _last_ids(runtime)  # the rows of the full round (the unchanged rounds' events are not)
            unchanged = [await one_round(True) for _ in range(ROUNDS)]
            typical = sorted(unchanged, key=lambda u: u[0])[len(unchanged) // 2]
            say("full_seconds", full[0], f"s  full first round {full[1]}")
            say(
                "unchanged_seconds",
                typical[0],
                f"s  unchanged round (304) (median of {_runs([u[0] for u in unchanged])})",
            )
            say("full_over_floor", full[0] / floor, "(goal on the 60 ms / 10 Mbit/s network ≤ 1.3)")
            if crawl is not None:
                say("full_over_scrapy", full[0] / crawl, "(goal ≤ 1.0)")
            say_peak(workers, [full, *unchanged], say)  # before the work floors, which hold every body at once
            await full_work_floor(runtime, urls, floor, (before, written), (full[0], crawl), say)
            if changed:  # every node publishes one change, read once through the full feed, once through change pages
                await changed_rounds(runtime, one_round, urls, f"http://{address_of(0)}:{port}", typical[0], say)
        finally:
            await runtime.stop()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return figures


def bench_settings(database_url: str, count: int, **more: Any) -> AggregatorSettings:
    """The harvest's settings in the benchmarks: one round takes every node, 50 at a time, no scheduler, no
    conformance check on registration (the feed server is not a full node); ``more``: other settings."""
    return AggregatorSettings(
        database_url=database_url,
        allowed_networks=["127.0.0.0/8"],
        scheduler=False,
        batch_size=count,
        concurrency=50,
        default_poll_interval=3600,
        lease_seconds=600,
        worker_id="bench",
        check_on_registration=False,
        **more,
    )


async def full_work_floor(  # noqa: PLR0917 (the run's parts)
    runtime: AggregatorRuntime,
    urls: list[str],
    floor: float,
    rows: tuple[dict[str, int], dict[str, int]],
    measured: tuple[float, float | None],
    say: Callable[..., None],
) -> None:
    """What the first round cannot do without, in one process: fetch (``floor``), verify and validate the
    bodies, and COPY the rows it wrote (between ``rows``); against the round and the Scrapy crawl (``measured``)."""
    fetched: list[tuple[bytes, str]] = []
    await bare_round(urls, runtime.fetcher.limits, runtime.settings.concurrency, keep=fetched)
    stages = cpu_stages(fetched, runtime, urls[0].replace("/plan.json", "/jwks.json"))
    copy = await copy_written(runtime, *rows)
    work = floor + stages["verify"] + stages["validate"] + copy
    detail = f"s  = fetch {floor:.2f} + verify {stages['verify']:.2f} + validate {stages['validate']:.2f}"
    say("full_work_floor_seconds", work, f"{detail} + COPY of the rows written {copy:.2f}")
    say("full_over_work_floor", measured[0] / work)
    if measured[1] is not None:
        say(
            "work_floor_over_scrapy",
            work / measured[1],
            "(over 1.0: no round doing this work in one process can be ≤ 1.0 × Scrapy)",
        )


async def changed_rounds(  # noqa: PLR0917 (the run's parts)
    runtime: AggregatorRuntime,
    one_round: Callable[[bool], Awaitable[tuple[float, dict[str, int]]]],
    urls: list[str],
    control: str,
    unchanged: float,
    say: Callable[..., None],
) -> None:
    """A changed round through full feeds against its work floor; one through change pages against unchanged."""
    httpx.get(f"{control}/_publish").raise_for_status()
    before = await _last_ids(runtime)
    by_feed = await one_round(True)
    fetched: list[tuple[bytes, str]] = []
    fetch = await bare_round(urls, runtime.fetcher.limits, runtime.settings.concurrency, keep=fetched)
    stages = cpu_stages(fetched, runtime, urls[0].replace("/plan.json", "/jwks.json"))
    copy = await copy_written(runtime, before)
    work = fetch + stages["verify"] + stages["validate"] + copy
    say("changed_full_seconds", by_feed[0], f"s  changed round through full feeds {by_feed[1]}")
    detail = f"s  = fetch {fetch:.2f} + verify {stages['verify']:.2f} + validate {stages['validate']:.2f}"
    say("changed_work_floor_seconds", work, f"{detail} + COPY of the rows written {copy:.2f}")
    say("changed_full_over_work_floor", by_feed[0] / work, "(goal ≤ 1.3)")
    say("snapshot_cpu_seconds", stages["snapshot"], "s  (CPU to snapshot every record of those bodies)")
    httpx.get(f"{control}/_publish").raise_for_status()
    by_pages = await one_round(False)
    say("changed_pages_seconds", by_pages[0], f"s  changed round through change pages {by_pages[1]}")
    say("changed_pages_over_unchanged", by_pages[0] / unchanged, "(goal ≤ 1.5)")


ROUNDS = 3  # the floor and the unchanged round are repeated; the median is reported
QUIET = open(os.devnull, "w")  # noqa: SIM115 (the process's log stream, open until it ends)
WRITTEN = ("feed_versions", "record_states", "version_changes", "harvest_events", "bench_observations")


def _runs(seconds: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in seconds) + " s"


async def _last_ids(runtime: AggregatorRuntime) -> dict[str, int]:
    """The largest id of each table a round writes to."""
    last: dict[str, int] = {}
    async with runtime.db.sessions() as session:
        for table in WRITTEN:
            query = text(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 (fixed names)
            last[table] = int(await session.scalar(query) or 0)
    return last


async def copy_written(
    runtime: AggregatorRuntime, before: dict[str, int], until: dict[str, int] | None = None
) -> float:
    """Seconds to COPY the rows written since ``before`` (up to ``until``) into empty tables of the same shape
    (PostgreSQL).

    Read and written by a plain asyncpg connection: the rows go back as PostgreSQL sent them.
    """
    url = runtime.settings.database_url
    if not url.startswith("postgresql"):
        return 0.0
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        tables = {}
        for table, last in before.items():
            await connection.execute(f"CREATE TEMP TABLE copy_{table} (LIKE {table})")
            upto = (until or {}).get(table, 2**31 - 1)
            tables[table] = await connection.fetch(f"SELECT * FROM {table} WHERE id > $1 AND id <= $2", last, upto)  # noqa: S608
        started = time.perf_counter()
        for table, rows in tables.items():
            if rows:
                await connection.copy_records_to_table(f"copy_{table}", records=[tuple(row) for row in rows])
        return time.perf_counter() - started
    finally:
        await connection.close()


def scrapy_crawl(urls: list[str], concurrency: int) -> float | None:
    """Seconds of a Scrapy crawl of ``urls`` in its own process; None when Scrapy is not installed."""
    if importlib.util.find_spec("scrapy") is None:
        print("(Scrapy is not installed: `pip install scrapy` to measure the peer)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(urls))
        listing.flush()
        command = [sys.executable, str(HERE / "_scrapy_crawl.py"), listing.name, "--concurrency", str(concurrency)]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["fetched"] != len(urls):
        raise SystemExit(f"the Scrapy crawl fetched {figures['fetched']} of {len(urls)}")
    return float(figures["seconds"])


def cpu_stages(fetched: list[tuple[bytes, str]], runtime: AggregatorRuntime, jwks_url: str) -> dict[str, float]:
    """CPU seconds to verify, validate and snapshot ``fetched`` (bodies and signatures), in this process."""
    keys = signing.load_jwks(httpx.get(jwks_url).content)
    stages: dict[str, float] = {}
    started = time.process_time()
    for body, signature in fetched:
        signing.verify(body, signature, keys)
    stages["verify"] = time.process_time() - started
    started = time.process_time()
    feeds = [validate_feed(body, reference=runtime.reference)[1] for body, _ in fetched]
    stages["validate"] = time.process_time() - started
    started = time.process_time()
    for feed in feeds:
        assert feed is not None
        snapshot_records(feed)
    stages["snapshot"] = time.process_time() - started
    return stages


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


def rounds_by(
    runtime: AggregatorRuntime, cuts: list[str], database_url: str, workers: int, communes: str | None
) -> Callable[[bool], Awaitable[tuple[float, dict[str, int]]]]:
    """One round over ``cuts`` (full feeds or change pages): in this process, or by ``workers`` processes."""

    async def one_round(full_feed: bool) -> tuple[float, dict[str, int]]:
        if workers:
            more = {"communes_file": communes} if communes else {}
            return await process_round(runtime, cuts, database_url, workers, full_feed=full_feed, **more)
        return await timed_round(runtime, cuts, full_feed=full_feed)

    return one_round


def communes_file(reference: CommuneReference, count: int, workers: int) -> str | None:
    """For worker processes harvesting synthetic communes (beyond the 346 real ones): a CSV of them all."""
    if not workers or count <= len(CommuneReference.packaged()):
        return None
    path = Path(tempfile.gettempdir()) / f"ogp-bench-communes-{count}.csv"
    rows = [",".join(_COLUMNS)] + [
        ",".join((c.cut, c.name, c.province_cut, c.province, c.region_cut, c.region)) for c in reference
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


_COLUMNS = ("cut", "name", "province_cut", "province", "region_cut", "region")


def accepted_all(label: str, count: int, outcomes: dict[str, int]) -> None:
    """Stop the run unless the full round accepted every node's feed (a round rejecting them measures else)."""
    if outcomes.get("accepted") != count:
        raise SystemExit(f"[{label}] the full round accepted {outcomes.get('accepted', 0)} of {count}: {outcomes}")


def say_peak(workers: int, rounds: list[tuple[float, dict[str, int]]], say: Callable[..., None]) -> None:
    """The peak memory of the harvest over ``rounds``: this process's, or the largest worker's."""
    if workers:
        peak = max(outcomes.get("worker_peak_mib", 0) for _, outcomes in rounds)
        say("peak_memory_mib", peak, "MiB (the largest worker's peak over the full and unchanged rounds)")
    else:
        say("peak_memory_mib", peak_mib(), "MiB (this process's peak over the run's full and unchanged rounds)")


def peak_mib(pid: int | str = "self") -> float:
    """A process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    """Start this process's peak resident memory again from what it holds now (Linux ``clear_refs``)."""
    with contextlib.suppress(OSError):  # (not Linux, or not allowed: the peak then covers the whole process)
        Path("/proc/self/clear_refs").write_text("5")


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


def start_workers(
    database_url: str, count: int, *, batch_size: int, name: str = "w", seconds: int = 600, **settings: str
) -> list[subprocess.Popen[bytes]]:
    """``count`` `aggregator work` processes named ``name0``…, ticking every 50 ms, no scheduler of their own;
    ``settings``: more of their settings (``lease_seconds="60"`` → ``OGP_AGG_LEASE_SECONDS=60``)."""
    env = {
        **os.environ,
        "OGP_AGG_DATABASE_URL": database_url,
        "OGP_AGG_ALLOWED_NETWORKS": "127.0.0.0/8",
        "OGP_AGG_TICK_SECONDS": "0.05",
        "OGP_AGG_BATCH_SIZE": str(batch_size),
        "OGP_AGG_SCHEDULER": "false",
        "OGP_AGG_LEASE_SECONDS": "600",
        **{f"OGP_AGG_{key.upper()}": value for key, value in settings.items()},
    }
    cli = str(Path(sys.executable).with_name("ogp-federation"))
    return [
        subprocess.Popen(
            [cli, "aggregator", "work", "--seconds", str(seconds)],
            env={**env, "OGP_AGG_WORKER_ID": f"{name}{number}"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for number in range(count)
    ]


async def process_round(
    runtime: AggregatorRuntime,
    cuts: list[str],
    database_url: str,
    workers: int,
    *,
    full_feed: bool = True,
    **settings: str,
) -> tuple[float, dict[str, int]]:
    """A round done by ``workers`` `aggregator work` processes (started beforehand, idle until nodes are due);
    ``full_feed``: full feeds (conditional GET), else change pages; ``settings``: more of the workers'."""
    async with runtime.db.transaction() as session:  # nothing due while the workers start
        await session.execute(update(Node).values(next_poll_at=datetime.now(UTC) + timedelta(days=365)))
        before = await session.scalar(select(func.count()).select_from(HarvestEvent)) or 0
        last = await session.scalar(select(func.max(HarvestEvent.id))) or 0
    expected = before + len(cuts)
    processes = start_workers(database_url, workers, batch_size=max(1, len(cuts) // workers // 2), **settings)
    try:
        await asyncio.sleep(3)  # let them start (and find nothing due)
        async with runtime.db.transaction() as session:
            values: dict[str, object] = {"next_poll_at": Node.created_at}
            if full_feed:
                values["full_fetched_at"] = None  # as if the periodic full fetch were due
            await session.execute(update(Node).values(**values))
        started = time.perf_counter()
        while True:
            async with runtime.db.sessions() as session:
                done = await session.scalar(select(func.count()).select_from(HarvestEvent))
            if (done or 0) >= expected:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        peak = max(peak_mib(process.pid) for process in processes)
        async with runtime.db.sessions() as session:
            rows = await session.execute(
                select(HarvestEvent.outcome, func.count()).where(HarvestEvent.id > last).group_by(HarvestEvent.outcome)
            )
            return elapsed, {**{outcome: int(count) for outcome, count in rows}, "worker_peak_mib": round(peak)}
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
    parser.add_argument("--json", type=Path, help="Write every figure here.")
    args = parser.parse_args()
    label = f"{args.nodes} nodes"
    runs = [
        asyncio.run(
            with_database(
                args.database_url,
                lambda url: run(args.nodes, args.commitments, url, label, args.workers, changed=True),
            )
        )
    ]
    for profile in filter(None, args.networks.split(",")):
        rtt, _, mbps = profile.partition(":")
        network = (float(rtt), float(mbps))
        name = f"{label}, {network[0]:g} ms RTT, {network[1]:g} Mbit/s"
        runs.append(
            asyncio.run(
                with_database(
                    None,
                    lambda url: run(args.nodes, args.commitments, url, name, args.workers, network=network),  # noqa: B023
                )
            )
        )
    if args.large:
        # (no Scrapy crawl: it keeps a connection open per host, and 10,000 of them exhaust the feed server's files)
        runs.append(
            asyncio.run(with_database(None, lambda url: run(10_000, 2, url, "10,000 nodes", args.workers, peer=False)))
        )
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
