"""The methodology library at scale: 20,000 methodologies and 100,000 commitments.

Builds the index from synthetic communes (each entry a synthetic plan's commitment or methodology,
repeated with new ids and varied titles to reach the sizes), serves the aggregator with
``ogp-federation aggregator serve`` in its own process and measures, in one run:

- search p50/p95 through the HTTP API under 20 concurrent clients (this process is the load
  generator), queries from the judged set; the floor is ``/health`` under the same clients;
- suggestions for one commune (``GET /api/v1/communes/{cut}/suggestions?limit=3``: three of its
  commitments), p50/p95, same load;
- the incremental index update for one accepted version (one commune re-indexed), p50 and max.

Goals (issue 14, PostgreSQL): search p95 ≤ 30 ms, suggestions p95 ≤ 100 ms, one version ≤ 50 ms.
Run: ``python benchmarks/search.py [--requests 600] [--skip-sqlite] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _databases import with_database
from compare import latencies, pct, serve

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.history import AcceptedFeed
from ogp_federation.aggregator.library.index import entries_of, insert_rows, keep_current
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.core.logs import configure_logging
from ogp_federation.feed.reference import CommuneReference
from ogp_federation.feed.synth import generate_feed
from ogp_federation.feed.synth_texts import TOPICS

METHODOLOGIES, COMMITMENTS = 20_000, 100_000
CONCURRENCY = 20
JUDGED = Path(__file__).with_name("data") / "search_judgements.json"


def rows_for(cuts: list[str]) -> tuple[list[dict[str, Any]], Any]:
    """Entries for every commune until the target sizes, and one commune's feed (for the update)."""
    rng = random.Random(14)
    per_commune = {"commitment": COMMITMENTS // len(cuts) + 1, "methodology": METHODOLOGIES // len(cuts) + 1}
    rows: list[dict[str, Any]] = []
    sample = None
    for cut in cuts:
        feed = generate_feed(cut, commitments=10, seed=1)
        sample = sample or feed
        base = entries_of(cut, 1, feed)
        for kind, count in per_commune.items():
            own = [row for row in base if row["kind"] == kind] or [row for row in base if row["kind"] == "commitment"]
            for number in range(count):
                row = dict(own[number % len(own)])
                topic = rng.choice(TOPICS)
                row |= {"kind": kind, "key": f"{row['key']}-{number}"}
                if number >= len(own):  # repeated entries take another topic's title, as another plan would
                    row["title"] = rng.choice(topic.titles if kind == "commitment" else (topic.methodology[0],))
                rows.append(row)
    return rows, sample


async def load(url: str, rows: list[dict[str, Any]]) -> float:
    await prepare_database(url)
    runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
    start = time.perf_counter()
    for offset in range(0, len(rows), 5_000):
        async with runtime.db.transaction() as session:
            await insert_rows(session, [dict(row) for row in rows[offset : offset + 5_000]])
    await runtime.stop()
    return time.perf_counter() - start


async def one_version(url: str, feed: Any) -> list[float]:
    runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
    times = []
    for number in range(20):
        start = time.perf_counter()
        async with runtime.db.transaction() as session:
            await keep_current(session, [AcceptedFeed(feed.publisher.cut, 100 + number, datetime.now(UTC), feed)])
        times.append(time.perf_counter() - start)
    await runtime.stop()
    return times


async def measure(label: str, url: str, rows: list[dict[str, Any]], feed: Any, count: int) -> dict[str, Any]:
    loaded = await load(url, rows)
    print(f"\n== {label}: {len(rows):,} entries indexed in {loaded:.1f} s")
    queries = [item["query"] for item in json.loads(JUDGED.read_text(encoding="utf-8"))["queries"] if item["topic"]]
    rng = random.Random(7)
    search_paths = [f"/api/v1/library/search?q={rng.choice(queries).replace(' ', '+')}" for _ in range(count)]
    cuts = sorted({row["cut"] for row in rows})
    suggest_paths = [f"/api/v1/communes/{rng.choice(cuts)}/suggestions?limit=3" for _ in range(20)]
    server, base = serve(url)
    try:
        floor = await latencies(base, ["/health"] * count, concurrency=CONCURRENCY)
        searched = await latencies(base, search_paths, concurrency=CONCURRENCY)
        suggested = await latencies(base, suggest_paths, concurrency=CONCURRENCY)
    finally:
        server.terminate()
        server.wait(10)
    version = await one_version(url, feed)
    figures = {
        "floor_p50_ms": pct(floor, 50),
        "floor_p95_ms": pct(floor, 95),
        "search_p50_ms": pct(searched, 50),
        "search_p95_ms": pct(searched, 95),
        "suggestions_p50_ms": pct(suggested, 50),
        "suggestions_p95_ms": pct(suggested, 95),
        "one_version_p50_ms": statistics.median(version) * 1000,
        "one_version_max_ms": max(version) * 1000,
    }
    print(
        f"floor (/health), {CONCURRENCY} clients: p50 {figures['floor_p50_ms']:.1f} ms, "
        f"p95 {figures['floor_p95_ms']:.1f} ms"
    )
    print(
        f"search, {CONCURRENCY} clients, {len(searched)} requests: p50 {figures['search_p50_ms']:.1f} ms, "
        f"p95 {figures['search_p95_ms']:.1f} ms (goal p95 ≤ 30 ms)"
    )
    print(
        f"suggestions for three commitments of one commune, {len(suggested)} requests: "
        f"p50 {figures['suggestions_p50_ms']:.1f} ms, p95 {figures['suggestions_p95_ms']:.1f} ms (goal p95 ≤ 100 ms)"
    )
    print(
        f"one accepted version re-indexed: p50 {figures['one_version_p50_ms']:.1f} ms, "
        f"max {figures['one_version_max_ms']:.1f} ms (goal ≤ 50 ms)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)
    cuts = [commune.cut for commune in CommuneReference.packaged()]
    rows, feed = rows_for(cuts)
    results = {
        "postgresql": asyncio.run(
            with_database(None, lambda url: measure("PostgreSQL", url, rows, feed, args.requests))
        )
    }
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/search.db"
            results["sqlite"] = asyncio.run(measure("SQLite (no goal)", url, rows, feed, args.requests // 2))
    if args.json:
        args.json.write_text(json.dumps(results) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
