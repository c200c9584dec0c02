"""The history store: accepted versions, normalised record states, per-record diffs, and past states."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

import msgspec
from sqlalchemy import Table, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.models import FeedVersion, Node, RecordState, VersionChange
from ogp_federation.feed import PlanFeed
from ogp_federation.feed.entities import COLLECTIONS

__all__ = [
    "apply_records",
    "changes_of",
    "current_records",
    "dropped_share",
    "record_accepted",
    "records_as_of",
    "snapshot_records",
]

RecordKey = tuple[str, str]
# Core tables for set-based inserts (the ORM's per-object bookkeeping is too slow for whole feeds).
_STATES = cast(Table, RecordState.__table__)
_CHANGES = cast(Table, VersionChange.__table__)


def snapshot_records(feed: PlanFeed) -> dict[RecordKey, dict[str, Any]]:
    """Every record of ``feed`` by (collection, key), as plain data."""
    out: dict[RecordKey, dict[str, Any]] = {}
    for collection in COLLECTIONS:
        entity, key = collection.entity.value, collection.key  # enum lookups once per collection, not per record
        for record in collection.records(feed):
            out[(entity, getattr(record, key))] = msgspec.to_builtins(record)
    return out


class OpenRecord(NamedTuple):
    """A record's open state row: its id and content."""

    id: int
    data: dict[str, Any]


async def current_records(session: AsyncSession, cut: str) -> dict[RecordKey, OpenRecord]:
    """The open record states of a commune (its current accepted content)."""
    rows = await session.execute(
        select(_STATES.c.id, _STATES.c.entity, _STATES.c.key, _STATES.c.data).where(
            _STATES.c.cut == cut, _STATES.c.valid_to_seq.is_(None)
        )
    )
    return {(entity, key): OpenRecord(id_, data) for id_, entity, key, data in rows}


def dropped_share(previous: dict[RecordKey, Any], new: dict[RecordKey, Any]) -> float:
    """The share of ``previous`` records that ``new`` no longer has."""
    if not previous:
        return 0.0
    return sum(1 for key in previous if key not in new) / len(previous)


async def record_accepted(
    session: AsyncSession,
    node: Node,
    feed: PlanFeed,
    *,
    body: bytes,
    signature: str,
    kid: str,
    sha256: str,
    fetched_at: datetime,
    counts: dict[str, int],
    current: dict[RecordKey, OpenRecord] | None = None,
    new: dict[RecordKey, dict[str, Any]] | None = None,
) -> FeedVersion:
    """Store an accepted version with its normalised records and the diff from the previous one.

    ``current`` and ``new`` spare recomputing what the caller already holds (the open records, the snapshot).
    """
    version = FeedVersion(
        node_id=node.id,
        cut=node.cut,
        sequence=feed.sequence,
        generated_at=feed.generated_at,
        fetched_at=fetched_at,
        accepted_at=fetched_at,
        body=body,
        signature=signature,
        kid=kid,
        sha256=sha256,
        status="accepted",
        counts=counts,
    )
    session.add(version)
    await session.flush()
    await apply_records(session, node, feed, version, current=current, new=new)
    return version


async def apply_records(
    session: AsyncSession,
    node: Node,
    feed: PlanFeed,
    version: FeedVersion,
    *,
    current: dict[RecordKey, OpenRecord] | None = None,
    new: dict[RecordKey, dict[str, Any]] | None = None,
) -> None:
    """Make ``version`` the node's current one: close and open record states, store the diff."""
    if current is None:
        current = await current_records(session, node.cut)
    if new is None:
        new = snapshot_records(feed)
    at, sequence = feed.generated_at, feed.sequence
    states: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    closed: list[int] = []
    for key, data in new.items():
        state = current.get(key)
        if state is not None and state.data == data:
            continue
        # An added record is fully described by its new state row (valid from this sequence): only changes
        # and deletions get rows of their own (see changes_of), which halves the writes of a first harvest.
        if state is not None:
            closed.append(state.id)
            fields = sorted(k for k in set(state.data) | set(data) if state.data.get(k) != data.get(k))
            changes.append(
                {
                    "version_id": version.id,
                    "entity": key[0],
                    "key": key[1],
                    "kind": "changed",
                    "fields": fields,
                    "old": state.data,
                    "new": data,
                }
            )
        states.append(
            {
                "cut": node.cut,
                "entity": key[0],
                "key": key[1],
                "data": data,
                "valid_from_seq": sequence,
                "valid_from": at,
                "valid_to_seq": None,
                "valid_to": None,
            }
        )
    for key, state in current.items():
        if key not in new:
            closed.append(state.id)
            changes.append(
                {
                    "version_id": version.id,
                    "entity": key[0],
                    "key": key[1],
                    "kind": "deleted",
                    "old": state.data,
                    "new": None,
                    "fields": [],
                }
            )
    # Set-based writes: one statement each, whatever the number of records.
    if closed:
        await session.execute(
            update(RecordState).where(RecordState.id.in_(closed)).values(valid_to_seq=sequence, valid_to=at)
        )
    if states:
        await _insert_states(session, states)
    if changes:
        await session.execute(insert(_CHANGES), changes)
    node.sequence = sequence
    node.current_version_id = version.id


async def _insert_states(session: AsyncSession, states: list[dict[str, Any]]) -> None:
    """Insert record states; on PostgreSQL with COPY (a whole feed's records in one fast round trip)."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(insert(_STATES), states)
        return
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # the asyncpg connection, inside this session's transaction
    columns = ("cut", "entity", "key", "data", "valid_from_seq", "valid_from")
    await driver.copy_records_to_table(
        _STATES.name,
        columns=columns,
        records=[
            (row["cut"], row["entity"], row["key"], _json_text(row["data"]), row["valid_from_seq"], row["valid_from"])
            for row in states
        ],
    )


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def changes_of(session: AsyncSession, version: FeedVersion) -> list[dict[str, Any]]:
    """The diff of ``version``: records added (with their content), changed (with the fields), deleted."""
    rows = list(
        await session.scalars(
            select(VersionChange).where(VersionChange.version_id == version.id).order_by(VersionChange.id)
        )
    )
    changed = {(c.entity, c.key) for c in rows}
    started = await session.execute(
        select(RecordState.entity, RecordState.key, RecordState.data)
        .where(RecordState.cut == version.cut, RecordState.valid_from_seq == version.sequence)
        .order_by(RecordState.id)
    )
    added = [
        {"entity": entity, "id": key, "kind": "added", "fields": [], "old": None, "new": data}
        for entity, key, data in started
        if (entity, key) not in changed
    ]
    return added + [
        {"entity": c.entity, "id": c.key, "kind": c.kind, "fields": c.fields, "old": c.old, "new": c.new} for c in rows
    ]


async def records_as_of(session: AsyncSession, cut: str, entity: str, at: datetime | None) -> list[dict[str, Any]]:
    """A commune's records of one collection now (``at`` None) or as they stood at time ``at``."""
    query = select(RecordState.data).where(RecordState.cut == cut, RecordState.entity == entity)
    if at is None:
        query = query.where(RecordState.valid_to_seq.is_(None))
    else:
        query = query.where(
            RecordState.valid_from <= at, or_(RecordState.valid_to.is_(None), and_(RecordState.valid_to > at))
        )
    rows = await session.scalars(query.order_by(RecordState.key))
    return list(rows)
