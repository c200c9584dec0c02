"""A soak: ``--workers`` ``aggregator work`` processes harvest ``--rounds`` rounds over ``--nodes`` nodes,
of which every ``--misbehave``-th is down, invalid or slow; every ``--publish-every``-th round all the
others publish a new version.

Printed: the rounds' time, each worker's resident memory after the warm-up (the first tenth of the
rounds) and at the end, and whether every node ends in the state its behaviour calls for (good: ``ok``
on its last version, each version it published accepted exactly once; down and slow: ``failing``;
invalid: ``invalid``). Exit status 1 when a node's state is wrong or a worker died.

Run: ``python benchmarks/soak.py [--nodes 346] [--rounds 200] [--workers 4] [--json out.json]``
(default database: a throwaway PostgreSQL database on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _databases import with_database
from _feed_server import address_of
from _synthetic import reference_for
from harvest import start_server, start_workers
from sqlalchemy import func, select, update

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.history import FeedVersion
from ogp_federation.aggregator.registry import Node
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.core.logs import configure_logging

EXPECTED = {None: "ok", "down": "failing", "slow": "failing", "invalid": "invalid"}
TOTAL_TIMEOUT = 2.0  # the workers' limit for a whole response; a slow node takes longer


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def one_round(runtime: AggregatorRuntime, deadline: float) -> None:
    """Make every node due and wait until each has been polled (or skipped by its open circuit)."""
    started = datetime.now(UTC)
    async with runtime.db.transaction() as session:
        await session.execute(update(Node).values(next_poll_at=started))
    while True:
        async with runtime.db.sessions() as session:
            left = await session.scalar(select(func.count()).where(Node.next_poll_at <= started))
        if not left:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"a round did not end: {left} nodes still due")
        await asyncio.sleep(0.02)


async def check(runtime: AggregatorRuntime, misbehaving: dict[str, str], published: int) -> dict[str, Any]:
    """Every node's state against what its behaviour calls for."""
    async with runtime.db.sessions() as session:
        nodes = (await session.execute(select(Node.cut, Node.state, Node.sequence))).all()
        accepted = Counter(
            (cut, sequence)
            for cut, sequence in await session.execute(
                select(FeedVersion.cut, FeedVersion.sequence).where(FeedVersion.status == "accepted")
            )
        )
    wrong = []
    for cut, state, sequence in nodes:
        behaviour = misbehaving.get(cut)
        if state != EXPECTED[behaviour]:
            wrong.append(f"{cut} ({behaviour or 'good'}): {state}")
        elif behaviour is None and (
            sequence != published or any(accepted[(cut, s)] != 1 for s in range(1, published + 1))
        ):
            wrong.append(f"{cut}: on {sequence} of {published}, accepted {[accepted[(cut, s)] for s in range(1, 4)]}…")
    return {
        "states": dict(Counter(state for _, state, _ in nodes)),
        "wrong": wrong,
        "versions_accepted": sum(accepted.values()),
    }


async def soak(url: str, args: argparse.Namespace) -> dict[str, Any]:
    reference = reference_for(args.nodes)
    cuts = [c.cut for c in list(reference)[: args.nodes]]
    versions = args.rounds // args.publish_every + 1
    options = ("--misbehave", str(args.misbehave), "--slow-seconds", str(3 * TOTAL_TIMEOUT))
    server, port = start_server(args.nodes, 10, versions=versions, options=options)
    control = f"http://{address_of(0)}:{port}"
    misbehaving: dict[str, str] = httpx.get(f"{control}/_misbehaving").json()
    await prepare_database(url, reference)
    settings = AggregatorSettings(
        database_url=url, allowed_networks=["127.0.0.0/8"], scheduler=False, check_on_registration=False
    )
    runtime = AggregatorRuntime(settings, reference=reference)
    setup = time.perf_counter()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        registering = asyncio.Semaphore(20)

        async def register(index: int, cut: str) -> None:
            async with registering:
                base = f"http://{address_of(index)}:{port}/{cut}"
                await runtime.registry.add_node(cut, base, trust_fetched_keys=True)

        await asyncio.gather(*(register(index, cut) for index, cut in enumerate(cuts)))
        print(f"{args.nodes} nodes registered in {time.perf_counter() - setup:.1f} s", flush=True)
        workers = start_workers(
            url,
            args.workers,
            batch_size=max(1, args.nodes // args.workers // 2),
            name="soak-",
            seconds=86400,
            lease_seconds="60",
            total_timeout=str(TOTAL_TIMEOUT),
            poll_timeout=str(2 * TOTAL_TIMEOUT),
        )
        warm_up = max(1, args.rounds // 10)
        memory: dict[str, list[float]] = {f"soak-{n}": [] for n in range(args.workers)}
        seconds: list[float] = []
        published = 1
        for number in range(1, args.rounds + 1):
            if number % args.publish_every == 0 and published < versions:
                published = int(httpx.get(f"{control}/_publish").text)
            started = time.perf_counter()
            await one_round(runtime, time.monotonic() + 120)
            seconds.append(time.perf_counter() - started)
            for name, process in zip(memory, workers, strict=True):
                if process.poll() is not None:
                    raise SystemExit(f"worker {name} died (exit {process.returncode})")
                memory[name].append(rss_mib(process.pid))
        result = await check(runtime, misbehaving, published)
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(timeout=30)
        await runtime.stop()
        server.terminate()
        server.wait(timeout=10)
    result.update(
        nodes=args.nodes,
        misbehaving=dict(Counter(misbehaving.values())),
        rounds=args.rounds,
        versions_published=published,
        round_seconds_median=statistics.median(seconds),
        round_seconds_max=max(seconds),
        total_seconds=sum(seconds),
        memory_mib={name: _memory(values, warm_up) for name, values in memory.items()},
    )
    return result


def _memory(values: list[float], warm_up: int) -> dict[str, Any]:
    """A worker's memory after the warm-up: first, last, most, its trend, and a sample every tenth of the rounds."""
    after = values[warm_up - 1 :]
    half = after[len(after) // 2 :]  # the trend of the second half: a leak keeps growing, a warm-up does not
    slope = statistics.linear_regression(range(len(half)), half).slope if len(half) > 1 else 0.0
    return {
        "after_warm_up": after[0],
        "end": after[-1],
        "max_after_warm_up": max(after),
        "second_half_mib_per_100_rounds": slope * 100,
        "samples": values[warm_up - 1 :: warm_up],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=346)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--misbehave", type=int, default=20, help="every N-th node is down, invalid or slow")
    parser.add_argument("--publish-every", type=int, default=20, help="(at most 11 versions: one milestone each)")
    parser.add_argument("--database-url")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)
    result = asyncio.run(with_database(args.database_url, lambda url: soak(url, args)))
    print(
        f"{result['rounds']} rounds over {result['nodes']} nodes ({result['misbehaving']} misbehaving), "
        f"{args.workers} workers: {result['total_seconds']:.1f} s, a round {result['round_seconds_median']:.2f} s "
        f"(max {result['round_seconds_max']:.2f}); {result['versions_published']} versions published, "
        f"{result['versions_accepted']} accepted"
    )
    for name, figures in result["memory_mib"].items():
        growth = figures["end"] - figures["after_warm_up"]
        print(
            f"  {name}: {figures['after_warm_up']:.0f} MiB after the warm-up, {figures['end']:.0f} MiB at the end "
            f"({growth:+.1f}), at most {figures['max_after_warm_up']:.0f}; second half "
            f"{figures['second_half_mib_per_100_rounds']:+.1f} MiB per 100 rounds; "
            + " ".join(f"{value:.0f}" for value in figures["samples"])
        )
    print(f"  states: {result['states']}; wrong: {len(result['wrong'])} {result['wrong'][:5]}")
    if args.json:
        args.json.write_text(json.dumps(result) + "\n", encoding="utf-8")
    if result["wrong"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
