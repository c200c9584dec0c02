"""A changed full feed is compared with the node's row of digests and stores what changed, only.

Whatever path a version takes (digests, every open record, a change page, a version that became current
while the poll was underway), the open record states afterwards are exactly the version's records.
"""

from __future__ import annotations

import json
import random
from typing import Any

import msgspec
from sqlalchemy import func, select, update

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due
from ogp_federation.aggregator.history import CurrentDigests, RecordState, VersionChange, known_digests, open_records
from ogp_federation.aggregator.registry import Node
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.feed import decode
from ogp_federation.feed.entities import COLLECTIONS

CUT = "13122"


async def _open_states(runtime: AggregatorRuntime) -> dict[tuple[str, str], Any]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(RecordState.entity, RecordState.key, RecordState.data).where(
                RecordState.cut == CUT, RecordState.valid_to_seq.is_(None)
            )
        )
        return {(entity, key): data for entity, key, data in rows}


def _records(body: bytes) -> dict[tuple[str, str], Any]:
    feed = decode(body)
    return {(c.entity.value, c.key_of(r)): msgspec.to_builtins(r) for c in COLLECTIONS for r in c.records(feed)}


async def _count(runtime: AggregatorRuntime, model: Any) -> int:
    async with runtime.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def _body(document: dict[str, Any], indent: int | None = None) -> bytes:
    """The document as a node writes it (compact), or indented."""
    separators = (",", ":") if indent is None else None
    return json.dumps(document, indent=indent, separators=separators, ensure_ascii=False).encode()


def _next_version(document: dict[str, Any], sequence: int, rng: random.Random) -> tuple[dict[str, Any], int]:
    """The document with one to three records changed, added or deleted; how many records it puts."""
    document = json.loads(json.dumps(document))
    document["sequence"] = sequence
    document["generated_at"] = document["generated_at"][:10] + f"T23:{sequence:02d}:00Z"
    put: set[str] = set()
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.5:
            record = rng.choice(document["milestones"])
            record["title"] = f"Hito revisado {sequence}-{len(put)}"
            put.add(record["id"])
        elif roll < 0.75:
            key = f"org-{sequence}-{len(put)}"
            document["organizations"].append({"id": key, "name": "Junta de vecinos", "classification": "civil_society"})
            put.add(key)
        elif document["assessments"]:
            gone = document["assessments"].pop()
            document.setdefault("tombstones", []).append(
                {"entity": "assessments", "id": gone["id"], "deleted_at": document["generated_at"]}
            )
    return document, len(put)


async def test_a_changed_full_feed_stores_only_what_changed_and_the_history_is_the_feed(database_url: str) -> None:
    rng = random.Random(5)  # noqa: S311 (test data)
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT, commitments=3))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        assert await _open_states(runtime) == _records(node.body)
        document = json.loads(node.body)
        for sequence in range(2, 9):
            document, put = _next_version(document, sequence, rng)
            # Every third version is written another way (indented): its bytes change, its records do not.
            indent = 2 if sequence % 3 == 0 else None
            states_before = await _count(runtime, RecordState)
            node.publish(sequence, _body(document, indent))
            await make_due(runtime, CUT)
            (result,) = (await runtime.scheduler.tick()).results
            assert result.outcome == "accepted", result
            assert await _open_states(runtime) == _records(node.body)
            # A state row per record changed or added, nothing for the hundreds unchanged ones.
            assert await _count(runtime, RecordState) - states_before == put
            async with runtime.db.sessions() as session:
                row = (await session.scalars(select(Node))).one()
                known = await known_digests(session, row.id, row.current_version_id)
            assert known is not None
            assert set(known) == set(_records(node.body))  # the row is the new version's


async def test_a_version_current_since_the_poll_is_compared_with_in_full(database_url: str) -> None:
    """A poll compared with version 1's digests; version 2 became current meanwhile: the history is still exact."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT, commitments=3))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        one = json.loads(node.body)
        three, _ = _next_version(one, 3, random.Random(1))  # noqa: S311 (test data)
        two, _ = _next_version(one, 2, random.Random(2))  # noqa: S311 (test data)
        await make_due(runtime, CUT)
        (claimed,) = await runtime.scheduler.claim(1)
        node.publish(3, _body(three))
        late = await runtime.harvester.poll(claimed)
        assert late.candidate is not None
        assert len(late.candidate.records) < 5  # compared with version 1's digests: what changed since, only
        node.publish(2, _body(two))
        first = await runtime.harvester.poll(claimed)
        worker = runtime.settings.worker_id
        assert [r.outcome for r in await runtime.harvester.recorder.record([first], worker=worker, round_id=None)] == [
            "accepted"
        ]
        async with runtime.db.transaction() as session:
            await session.execute(update(Node).values(lease_owner=worker))
        (result,) = await runtime.harvester.recorder.record([late], worker=worker, round_id=None)
        assert result.outcome == "accepted"
        assert await _open_states(runtime) == _records(_body(three))
        async with runtime.db.sessions() as session:
            kinds = (await session.scalars(select(VersionChange.kind))).all()
        assert kinds  # the diffs were written against version 2, the one that was current
        assert await _count(runtime, CurrentDigests) == 1


async def test_records_asked_for_by_key_beyond_a_statements_parameters_are_picked_from_every_record(
    database_url: str,
) -> None:
    """A full feed written anew moves every record's bytes: thousands of keys are asked for at once."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode(CUT, commitments=3))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        stored = list(_records(node.body))
        asked = {*stored[::2], *((("milestones", f"no-existe-{i}")) for i in range(12_000))}
        async with runtime.db.sessions() as session:
            few = (await open_records(session, [CUT], only={CUT: set(stored[::2][:10])}))[CUT]
            many = (await open_records(session, [CUT], only={CUT: asked}))[CUT]
            every = (await open_records(session, [CUT]))[CUT]
    assert few == {key: every[key] for key in stored[::2][:10]}
    assert many == {key: every[key] for key in stored[::2]}
