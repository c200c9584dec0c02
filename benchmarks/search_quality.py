"""Search quality of the methodology library on a judged query set, PostgreSQL and SQLite side by side.

Indexes the synthetic federation (346 communes, 8 commitments each, their methodologies) through the
library's own listener, runs every query of ``benchmarks/data/search_judgements.json`` on both
databases and prints recall@5 and nDCG@10 (binary relevance: a document of the query's topic), and how
often both databases put the same document first. Goal (issue 14): recall@5 ≥ 0.9 on both.

Run: ``python benchmarks/search_quality.py [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _databases import with_database

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.history import AcceptedFeed
from ogp_federation.aggregator.library.index import keep_current
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.core.errors import InvalidInputError
from ogp_federation.core.logs import configure_logging
from ogp_federation.feed.reference import CommuneReference
from ogp_federation.feed.synth import generate_feed
from ogp_federation.feed.synth_texts import TOPICS

JUDGED = Path(__file__).with_name("data") / "search_judgements.json"
AREAS = {topic.area: topic.key for topic in TOPICS}


def corpus() -> tuple[list[Any], dict[tuple[str, str], str]]:
    """The synthetic feeds and each document's topic."""
    feeds, topics = [], {}
    for commune in CommuneReference.packaged():
        feed = generate_feed(commune.cut, commitments=8, seed=1)
        feeds.append(feed)
        for c in feed.commitments:
            topics[(commune.cut, c.id)] = AREAS[c.policy_area or ""]
        for m in feed.methodologies:
            topics[(commune.cut, m.id)] = m.id.removeprefix("met-")
    return feeds, topics


def ndcg(found: list[bool], relevant: int, k: int = 10) -> float:
    gain = sum(1 / math.log2(rank + 2) for rank, hit in enumerate(found[:k]) if hit)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, relevant)))
    return gain / ideal if ideal else 1.0


async def measure(url: str, feeds: list[Any], topics: dict[tuple[str, str], str]) -> dict[str, Any]:
    await prepare_database(url)
    runtime = AggregatorRuntime(AggregatorSettings(database_url=url, scheduler=False))
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    async with runtime.db.transaction() as session:
        await keep_current(session, [AcceptedFeed(f.publisher.cut, n + 1, moment, f) for n, f in enumerate(feeds)])
    judged = json.loads(JUDGED.read_text(encoding="utf-8"))["queries"]
    sizes: dict[str, int] = {}
    for topic in topics.values():
        sizes[topic] = sizes.get(topic, 0) + 1
    recalls, gains, firsts = [], [], []
    for item in judged:
        try:
            page = await runtime.library.search(item["query"], limit=10)
            hits = [(hit.cut, hit.key) for hit in page.hits]
        except InvalidInputError:
            hits = []
        firsts.append(hits[0] if hits else None)
        if item["topic"] is None:
            recalls.append(1.0 if not hits else 0.0)
            gains.append(1.0 if not hits else 0.0)
            continue
        found = [topics.get(key) == item["topic"] for key in hits]
        relevant = sizes.get(item["topic"], 0)
        recalls.append(sum(found[:5]) / min(5, relevant) if relevant else 1.0)
        gains.append(ndcg(found, relevant))
    await runtime.stop()
    misses = [item["query"] for item, r in zip(judged, recalls, strict=True) if r < 1]
    return {
        "queries": len(judged),
        "recall_at_5": sum(recalls) / len(recalls),
        "ndcg_at_10": sum(gains) / len(gains),
        "first": firsts,
        "below_full_recall": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)
    feeds, topics = corpus()
    print(f"corpus: {len(feeds)} communes, {len(topics):,} documents of {len(set(topics.values()))} topics")
    results = {"postgresql": asyncio.run(with_database(None, lambda url: measure(url, feeds, topics)))}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = asyncio.run(measure(f"sqlite+aiosqlite:///{tmp}/quality.db", feeds, topics))
    for name, figures in results.items():
        print(
            f"{name}: {figures['queries']} queries, recall@5 {figures['recall_at_5']:.3f} (goal ≥ 0.9), "
            f"nDCG@10 {figures['ndcg_at_10']:.3f}; below full recall: {figures['below_full_recall']}"
        )
    same = sum(1 for a, b in zip(results["postgresql"]["first"], results["sqlite"]["first"], strict=True) if a == b)
    print(f"same first document on both databases: {same} of {len(results['sqlite']['first'])} queries")
    if args.json:
        args.json.write_text(json.dumps(results, default=str, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
