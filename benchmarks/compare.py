"""Comparisons at federation scale: 346 communes × 30 indicators × 120 periods (~1.25 M observations).

Loads synthetic observations into the analytic store (PostgreSQL by default, then SQLite), serves the
aggregator with ``ogp-federation aggregator serve`` in its own process, and measures, in one run:

- comparison (one indicator, one period, one group) and commune profile latency, p50/p95, under 50
  concurrent clients through the HTTP API (this process is the load generator);
- the service's own query time for the same comparisons (in process, no HTTP), and the same quantiles
  computed by DuckDB over the same data in Parquet (the column-store floor);
- the cost of keeping the store current: one commune's new version (derive + store) in one transaction;
- ``benchmarks rebuild`` over a history of 346 communes × 3 versions: time and peak memory.

Goals (issue 13, PostgreSQL): comparison p95 ≤ 50 ms, profile p95 ≤ 100 ms, service ≤ 2 × DuckDB,
one version ≤ 50 ms. Catalogue v1's indicators are annual: the 120 periods are labelled as years.

Run: ``python benchmarks/compare.py [--requests 1000] [--skip-sqlite]`` (DuckDB is needed:
``pip install duckdb``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
from _databases import with_database
from sqlalchemy import insert, select

from ogp_federation.aggregator.benchmarks import BenchObservation, catalogue
from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.history import AcceptedFeed, FeedVersion
from ogp_federation.aggregator.registry import Commune, Node
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.core.logs import configure_logging
from ogp_federation.feed import encode
from ogp_federation.feed.synth import generate_feed

PERIODS = [str(year) for year in range(1907, 2027)]  # 120
CONCURRENCY = 50
COLUMNS = [
    "cut",
    "code",
    "period",
    "period_start",
    "period_end",
    "value",
    "unit",
    "denominator",
    "provisional",
    "source",
    "version_id",
    "observed_at",
    "valid_from",
    "valid_to",
]


def observations(cuts: list[str]) -> list[tuple[Any, ...]]:
    """Plausible values: each commune has its own level and each indicator its own spread."""
    rng = random.Random(13)
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for indicator in catalogue().indicator:
        centre, spread = rng.uniform(20, 80), rng.uniform(5, 20)
        for cut in cuts:
            level = rng.gauss(0, spread)
            for index, period in enumerate(PERIODS):
                value = round(centre + level + index * 0.05 + rng.gauss(0, spread / 4), 3)
                year = int(period)
                rows.append(
                    (
                        cut,
                        indicator.code,
                        period,
                        date(year, 1, 1),
                        date(year, 12, 31),
                        value,
                        indicator.unit,
                        20,
                        period == PERIODS[-1],
                        "derived",
                        1,
                        moment,
                        moment,
                        None,
                    )
                )
    return rows


async def load(url: str, rows: list[tuple[Any, ...]]) -> float:
    """Load ``rows`` into the store; seconds taken."""
    start = time.perf_counter()
    if url.startswith("postgresql"):
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        await connection.copy_records_to_table("bench_observations", records=rows, columns=COLUMNS)
        await connection.execute("ANALYZE bench_observations")
        await connection.close()
    else:
        runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
        for chunk in range(0, len(rows), 50_000):
            async with runtime.db.transaction() as session:
                await session.execute(
                    insert(BenchObservation),
                    [dict(zip(COLUMNS, row, strict=True)) for row in rows[chunk : chunk + 50_000]],
                )
        await runtime.stop()
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(url: str, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cli = str(Path(sys.executable).with_name("ogp-federation"))
    env = {**os.environ, "OGP_AGG_DATABASE_URL": url, "OGP_AGG_SCHEDULER": "false", "OGP_LANG": "en"}
    server = subprocess.Popen(
        [cli, "aggregator", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the aggregator did not start")


async def latencies(base: str, paths: list[str], *, concurrency: int = CONCURRENCY) -> list[float]:
    """Seconds per request, ``concurrency`` clients sharing the paths."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue = list(paths)
    times: list[float] = []
    retried: list[str] = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        for path in paths[:5]:
            (await client.get(path)).raise_for_status()  # warm up

        async def worker() -> None:
            while queue:
                path = queue.pop()
                start = time.perf_counter()
                for attempt in range(3):  # a keep-alive connection the server closed as it was reused
                    try:
                        response = await client.get(path)
                        break
                    except httpx.TransportError:
                        if attempt == 2:
                            raise
                        retried.append(path)
                times.append(time.perf_counter() - start)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if retried:
        print(f"   ({len(retried)} requests retried after a closed connection; their time includes the retry)")
    return times


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] * 1000 if len(values) > 1 else 0.0


def requests(count: int, cuts: list[str]) -> tuple[list[tuple[str, str, str]], list[str]]:
    rng = random.Random(7)
    codes = [item.code for item in catalogue().indicator]
    groups = ["todas", "region:13", "region:08", "region:05"]
    chosen = [(rng.choice(codes), rng.choice(PERIODS), rng.choice(groups)) for _ in range(count)]
    return chosen, [rng.choice(cuts) for _ in range(count)]


def duckdb_times(
    rows: list[tuple[Any, ...]], chosen: list[tuple[str, str, str]], members: dict[str, list[str]]
) -> float:
    """p50 ms of the same summaries computed by DuckDB over the data in Parquet."""
    import duckdb  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "obs.csv", Path(tmp) / "obs.parquet"
        with source.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["cut", "code", "period", "value"])
            writer.writerows((row[0], row[1], row[2], row[5]) for row in rows)
        connection = duckdb.connect()
        connection.execute(
            f"COPY (SELECT * FROM read_csv('{source}', types={{'cut': 'VARCHAR', 'period': 'VARCHAR'}}) "  # noqa: S608
            f"ORDER BY code, period) TO '{target}' (FORMAT parquet)"
        )
        # The Parquet path is this run's own; the values are bound.
        summary = (
            "SELECT count(*), min(value), quantile_cont(value, [0.1, 0.25, 0.5, 0.75, 0.9]), max(value), "  # noqa: S608
            f"avg(value) FROM '{target}' WHERE code = ? AND period = ? AND list_contains(?, cut)"
        )
        times = []
        for code, period, group in chosen:
            start = time.perf_counter()
            connection.execute(
                summary,
                [code, period, members[group]],
            ).fetchall()
            times.append(time.perf_counter() - start)
        connection.close()
    return statistics.median(times) * 1000


async def service_times(url: str, chosen: list[tuple[str, str, str]]) -> float:
    runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
    for code, period, group in chosen[:5]:
        await runtime.benchmarks.compare(code, period=period, group=group)
    times = []
    for code, period, group in chosen:
        start = time.perf_counter()
        await runtime.benchmarks.compare(code, period=period, group=group)
        times.append(time.perf_counter() - start)
    await runtime.stop()
    return statistics.median(times) * 1000


async def members_of(url: str) -> dict[str, list[str]]:
    runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
    async with runtime.db.sessions() as session:
        communes = (await session.execute(select(Commune.cut, Commune.region_cut))).all()
    await runtime.stop()
    groups = {"todas": [c.cut for c in communes]}
    for region in ("13", "08", "05"):
        groups[f"region:{region}"] = [c.cut for c in communes if c.region_cut == region]
    return groups


async def one_version(url: str, cut: str) -> list[float]:
    """ms to keep the store current with one commune's new version, in its own transaction (20 runs)."""
    runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
    times = []
    base = generate_feed(cut, commitments=10, seed=3, sequence=1)
    for run in range(20):
        feed = msgspec.structs.replace(base, sequence=run + 2, generated_at=base.generated_at + timedelta(days=run))
        start = time.perf_counter()
        async with runtime.db.transaction() as session:
            await runtime.benchmarks.on_accepted(session, [AcceptedFeed(cut, 10_000 + run, datetime.now(UTC), feed)])
        times.append((time.perf_counter() - start) * 1000)
    await runtime.stop()
    return times


async def history(url: str, cuts: list[str], versions: int) -> None:
    """A stored history to rebuild from: ``versions`` accepted full feeds per commune."""
    runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
    async with runtime.db.transaction() as session:
        for cut in cuts:
            node = Node(
                cut=cut,
                base_url=f"https://{cut}.example",
                feed_url=f"https://{cut}.example/feed",
                signature_url=f"https://{cut}.example/sig",
                jwks_url=f"https://{cut}.example/jwks",
                keys={"keys": []},
                next_poll_at=datetime.now(UTC),
                created_at=datetime.now(UTC),
            )
            session.add(node)
            await session.flush()
            for sequence in range(1, versions + 1):
                feed = generate_feed(cut, commitments=6, seed=sequence, sequence=sequence)
                body = encode(feed)
                session.add(
                    FeedVersion(
                        node_id=node.id,
                        cut=cut,
                        sequence=sequence,
                        generated_at=feed.generated_at,
                        fetched_at=feed.generated_at,
                        accepted_at=feed.generated_at + timedelta(minutes=1),
                        body=body,
                        signature="-",
                        kid="-",
                        sha256=secrets.token_hex(32),
                        status="accepted",
                    )
                )
    await runtime.stop()


async def rebuild(url: str) -> tuple[float, int, float]:
    runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
    start = time.perf_counter()
    rows = await runtime.benchmarks.rebuild()
    seconds = time.perf_counter() - start
    tracemalloc.start()  # a second run, traced (slower), for the peak of Python memory it needs
    await runtime.benchmarks.rebuild()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    await runtime.stop()
    return seconds, rows, peak / 2**20


async def measure(label: str, url: str, count: int) -> dict[str, Any]:
    await prepare_database(url)
    async with AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False)).db.sessions() as session:
        cuts = list((await session.scalars(select(Commune.cut).order_by(Commune.cut))).all())
    rows = observations(cuts)
    loaded = await load(url, rows)
    print(f"\n== {label}: {len(rows):,} observations loaded in {loaded:.1f} s")
    chosen, marked = requests(count, cuts)
    members = await members_of(url)
    compare_paths = [
        f"/api/v1/indicators/{code}/comparison?period={period}&group={group}&cut={cut}"
        for (code, period, group), cut in zip(chosen, marked, strict=True)
    ]
    profile_paths = [f"/api/v1/communes/{cut}/profile?group=region:{cut[:2]}" for cut in marked[: count // 2]]
    figures: dict[str, Any] = {}
    for workers in (1, 2) if url.startswith("postgresql") else (1,):
        server, base = serve(url, workers)
        try:
            # The floor: the same clients on the same server asking for /health (no database, a tiny body).
            floor = await latencies(base, ["/health"] * len(compare_paths))
            compared = await latencies(base, compare_paths)
            profiled = await latencies(base, profile_paths)
        finally:
            server.terminate()
            server.wait(10)
        seconds = sum(compared) / CONCURRENCY
        tag = "" if workers == 1 else f"_{workers}_workers"
        figures |= {
            f"floor_p50_ms{tag}": pct(floor, 50),
            f"floor_p95_ms{tag}": pct(floor, 95),
            f"comparison_p50_ms{tag}": pct(compared, 50),
            f"comparison_p95_ms{tag}": pct(compared, 95),
            f"comparison_per_s{tag}": len(compared) / seconds,
            f"profile_p50_ms{tag}": pct(profiled, 50),
            f"profile_p95_ms{tag}": pct(profiled, 95),
        }
        print(f"-- aggregator serve --workers {workers}")
        print(
            f"floor (/health) through HTTP, {CONCURRENCY} clients, {len(floor)} requests: "
            f"p50 {figures[f'floor_p50_ms{tag}']:.1f} ms, p95 {figures[f'floor_p95_ms{tag}']:.1f} ms"
        )
        print(
            f"comparison through HTTP, {CONCURRENCY} clients, {len(compared)} requests: "
            f"p50 {figures[f'comparison_p50_ms{tag}']:.1f} ms, p95 {figures[f'comparison_p95_ms{tag}']:.1f} ms "
            f"(goal p95 ≤ 50 ms), {figures[f'comparison_per_s{tag}']:.0f} per second"
        )
        print(
            f"profile through HTTP, {CONCURRENCY} clients, {len(profiled)} requests: "
            f"p50 {figures[f'profile_p50_ms{tag}']:.1f} ms, p95 {figures[f'profile_p95_ms{tag}']:.1f} ms "
            "(goal p95 ≤ 100 ms)"
        )
    figures |= {
        "service_p50_ms": await service_times(url, chosen[:200]),
        "duckdb_p50_ms": duckdb_times(rows, chosen[:200], members),
    }
    ratio = figures["service_p50_ms"] / figures["duckdb_p50_ms"]
    print(
        f"one comparison, service in process: p50 {figures['service_p50_ms']:.2f} ms; DuckDB over Parquet: "
        f"p50 {figures['duckdb_p50_ms']:.2f} ms; ratio {ratio:.2f} (goal ≤ 2)"
    )
    version = await one_version(url, cuts[0])
    figures["one_version_p50_ms"] = statistics.median(version)
    figures["one_version_max_ms"] = max(version)
    print(
        f"one commune's new version into the store: p50 {figures['one_version_p50_ms']:.1f} ms, "
        f"max {figures['one_version_max_ms']:.1f} ms (goal ≤ 50 ms)"
    )
    await history(url, cuts, 3)
    seconds, written, peak = await rebuild(url)
    figures |= {"rebuild_s": seconds, "rebuild_rows": written, "rebuild_peak_mib": peak}
    print(
        f"rebuild from 346 × 3 accepted versions: {seconds:.1f} s, {written:,} rows, peak Python memory {peak:.0f} MiB"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--sqlite-requests", type=int, default=200, help="Requests of the SQLite run (no goal).")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)
    results = {"postgresql": asyncio.run(with_database(None, lambda url: measure("PostgreSQL", url, args.requests)))}
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            results["sqlite"] = asyncio.run(measure("SQLite (no goal)", url, args.sqlite_requests))
    if args.json:
        args.json.write_text(msgspec.json.encode(results).decode() + "\n")


if __name__ == "__main__":
    main()
