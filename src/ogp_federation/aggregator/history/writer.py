"""The history's write side: a version made its node's current one (record states closed and opened, diffs).

Called by the harvest (a batch of polls) and by the review (an approved version), inside their transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

import msgspec
from sqlalchemy import Table, bindparam, case, insert, null, select, tuple_, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.registry import Node
from ogp_federation.core.db import JSON_DOCUMENT, bulk_insert
from ogp_federation.feed import PlanFeed
from ogp_federation.feed.entities import COLLECTIONS

from .digests import Digests, RecordKey, keep_digests
from .models import FeedVersion, RecordState, VersionChange

__all__ = [
    "AcceptedFeed",
    "Applied",
    "OpenRecord",
    "RecordKey",
    "Snapshot",
    "VersionListener",
    "apply_records",
    "apply_versions",
    "dropped_share",
    "open_records",
    "snapshot_records",
]

# Core tables for set-based inserts (the ORM's per-object bookkeeping is too slow for whole feeds).
_STATES = cast(Table, RecordState.__table__)
_CHANGES = cast(Table, VersionChange.__table__)


class Snapshot(NamedTuple):
    """A record as stored: its JSON text and a digest of that text (to compare cheaply).

    The data itself is decoded from the text only when needed (the old/new content of a changed record),
    so a whole feed is snapshotted with one encode and one hash per record.
    """

    text: bytes
    digest: str

    @property
    def data(self) -> dict[str, Any]:
        """The record as JSON-compatible builtins."""
        data: dict[str, Any] = msgspec.json.decode(self.text)
        return data


_ENCODER = msgspec.json.Encoder()


def snapshot_records(feed: PlanFeed, only: Collection[RecordKey] | None = None) -> dict[RecordKey, Snapshot]:
    """Every record of ``feed`` by (collection, key); with ``only``, just those of them.

    The text is the record's msgspec encoding, whose field order is the structure's: the same record
    always gives the same text, so equal digests mean equal records.
    """
    out: dict[RecordKey, Snapshot] = {}
    encode, blake2b = _ENCODER.encode, hashlib.blake2b
    entities = None if only is None else {entity for entity, _ in only}
    for collection in COLLECTIONS:
        entity, key = collection.entity.value, collection.key  # enum lookups once per collection, not per record
        if entities is not None and entity not in entities:
            continue
        for record in collection.records(feed):
            if only is not None and (entity, getattr(record, key)) not in only:
                continue
            text = encode(record)
            out[(entity, getattr(record, key))] = Snapshot(text, blake2b(text, digest_size=16).hexdigest())
    return out


class OpenRecord(NamedTuple):
    """A record's open state row: its id, digest, and its data when stored without a digest."""

    id: int
    digest: str | None
    data: dict[str, Any] | None

    def same_as(self, snapshot: Snapshot) -> bool:
        """Whether ``snapshot`` is this record unchanged."""
        return self.digest == snapshot.digest if self.digest is not None else self.data == snapshot.data


async def open_records(
    session: AsyncSession, cuts: list[str], only: Mapping[str, Collection[RecordKey]] | None = None
) -> dict[str, dict[RecordKey, OpenRecord]]:
    """The open record states (the current accepted content) of each of ``cuts``, in one query.

    Only digests are read (data only for rows stored before digests existed): comparing a new version
    with the current one decodes no JSON. On PostgreSQL the rows are read by asyncpg itself: a node has
    hundreds of records and every changed poll reads them, and SQLAlchemy's result rows cost about five
    times asyncpg's. With ``only`` (per cut, the records a new version changed), just those are read.
    """
    out: dict[str, dict[RecordKey, OpenRecord]] = {cut: {} for cut in cuts}
    if not cuts:
        return out
    connection = await session.connection()
    wanted = [] if only is None else [(cut, entity, key) for cut in cuts for entity, key in only.get(cut, ())]
    if only is not None and len(wanted) > _MAX_KEYS:  # (a statement has at most 32,767 parameters)
        every = await open_records(session, cuts)
        return {cut: {key: every[cut][key] for key in only.get(cut, ()) if key in every[cut]} for cut in cuts}
    if only is not None:
        if not wanted:
            return out
        rows = await session.execute(
            select(_STATES.c.id, _STATES.c.cut, _STATES.c.entity, _STATES.c.key, _STATES.c.digest, _LEGACY_DATA).where(
                tuple_(_STATES.c.cut, _STATES.c.entity, _STATES.c.key).in_(wanted), _STATES.c.valid_to_seq.is_(None)
            )
        )
    elif connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection  # the asyncpg connection, inside this session's transaction
        rows = await driver.fetch(_OPEN_RECORDS_SQL, cuts)
    else:
        rows = await session.execute(
            select(_STATES.c.id, _STATES.c.cut, _STATES.c.entity, _STATES.c.key, _STATES.c.digest, _LEGACY_DATA).where(
                _STATES.c.cut.in_(cuts), _STATES.c.valid_to_seq.is_(None)
            )
        )
    for id_, cut, entity, key, digest, data in rows:
        out[cut][(entity, key)] = OpenRecord(id_, digest, data)
    return out


_MAX_KEYS = 2000  # records asked for by key at most; more are picked out of every open record
# A record's data only where it was stored without a digest (read to compare it).
_LEGACY_DATA = type_coerce(case((_STATES.c.digest.is_(None), _STATES.c.data), else_=null()), JSON_DOCUMENT)
# The same query as the SQLite one above, for asyncpg (uses ix_record_states_current).
_OPEN_RECORDS_SQL = (
    "SELECT id, cut, entity, key, digest, CASE WHEN digest IS NULL THEN data END FROM record_states "
    "WHERE cut = ANY($1::varchar[]) AND valid_to_seq IS NULL"
)


def dropped_share(previous: dict[RecordKey, Any], new: dict[RecordKey, Any]) -> float:
    """The share of ``previous`` records that ``new`` no longer has."""
    if not previous:
        return 0.0
    return sum(1 for key in previous if key not in new) / len(previous)


@dataclass(frozen=True)
class Applied:
    """A version about to become its node's current one, with the records it has and the ones open now.

    With ``deleted`` (a change page), ``records`` and ``current`` hold only what the page touched: the
    records put and those deleted; every other record stays as it is.
    """

    node: Node
    version: FeedVersion
    records: dict[RecordKey, Snapshot]
    current: dict[RecordKey, OpenRecord]
    feed: PlanFeed
    deleted: frozenset[RecordKey] | None = None
    digests: Digests | None = None  # of every record of the version, when known (kept for the next comparison)


class AcceptedFeed(NamedTuple):
    """A version that became its commune's current one, as the features kept current with it see it."""

    cut: str
    version_id: int
    accepted_at: datetime
    feed: PlanFeed


# Called in the transaction that applies versions: what it writes lands with them, or not at all.
VersionListener = Callable[[AsyncSession, list[AcceptedFeed]], Awaitable[None]]


async def apply_records(
    session: AsyncSession,
    node: Node,
    feed: PlanFeed,
    version: FeedVersion,
    listeners: Sequence[VersionListener] = (),
) -> None:
    """Make ``version`` (already flushed) the node's current one."""
    current = (await open_records(session, [node.cut]))[node.cut]
    await apply_versions(session, [Applied(node, version, snapshot_records(feed), current, feed)], listeners)


async def apply_versions(
    session: AsyncSession, items: list[Applied], listeners: Sequence[VersionListener] = ()
) -> None:
    """Make each version its node's current one: close and open record states, store the diffs.

    Set-based: one statement each for reading the old content of what changed, closing, opening (COPY on
    PostgreSQL) and diffs, whatever the number of versions and records. Then each listener (the
    benchmarks' store, for one) updates what it keeps, in the same transaction.
    """
    states: list[_StateRow] = []
    closed: list[dict[str, Any]] = []
    diffs: list[tuple[int, RecordKey, OpenRecord, Snapshot | None]] = []  # changed or deleted records
    for item in items:
        node, version, current = item.node, item.version, item.current
        at, sequence, cut = version.generated_at, version.sequence, node.cut
        for key, snapshot in item.records.items():
            state = current.get(key)
            if state is not None and state.same_as(snapshot):
                continue
            # An added record is fully described by its new state row (valid from this sequence): only
            # changes and deletions get rows of their own (see HistoryService.changes).
            if state is not None:
                closed.append({"state_id": state.id, "seq": sequence, "at": at})
                diffs.append((version.id, key, state, snapshot))
            states.append((cut, key[0], key[1], snapshot.text.decode(), snapshot.digest, sequence, at))
        for key, state in current.items():
            if key not in item.records if item.deleted is None else key in item.deleted:
                closed.append({"state_id": state.id, "seq": sequence, "at": at})
                diffs.append((version.id, key, state, None))
        node.sequence = sequence
        node.current_version_id = version.id
    if closed:
        await session.execute(
            update(_STATES)
            .where(_STATES.c.id == bindparam("state_id"))
            .values(valid_to_seq=bindparam("seq"), valid_to=bindparam("at")),
            closed,
        )
    if states:
        await _insert_states(session, states)
    if diffs:
        await session.execute(insert(_CHANGES), await _diff_rows(session, diffs))
    await keep_digests(session, [(item.node.id, item.version.id, item.digests) for item in items])
    if listeners and items:
        accepted = [
            AcceptedFeed(item.node.cut, item.version.id, item.version.accepted_at or item.version.fetched_at, item.feed)
            for item in items
        ]
        for listener in listeners:
            await listener(session, accepted)


async def _diff_rows(
    session: AsyncSession, diffs: list[tuple[int, RecordKey, OpenRecord, Snapshot | None]]
) -> list[dict[str, Any]]:
    """The version_changes rows of changed and deleted records (reading the old content of just those)."""
    missing = [state.id for _, _, state, _ in diffs if state.data is None]
    old: dict[int, dict[str, Any]] = {}
    if missing:
        rows = await session.execute(select(_STATES.c.id, _STATES.c.data).where(_STATES.c.id.in_(missing)))
        old = {row.id: row.data for row in rows}
    out = []
    for version_id, key, state, snapshot in diffs:
        before = state.data if state.data is not None else old[state.id]
        if snapshot is None:
            out.append(_change(version_id, key, "deleted", [], before, None))
        else:
            after = snapshot.data
            fields = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            out.append(_change(version_id, key, "changed", fields, before, after))
    return out


def _change(  # noqa: PLR0917 (a row builder)
    version_id: int, key: RecordKey, kind: str, fields: list[str], old: dict[str, Any] | None, new: Any
) -> dict[str, Any]:
    return {
        "version_id": version_id,
        "entity": key[0],
        "key": key[1],
        "kind": kind,
        "fields": fields,
        "old": old,
        "new": new,
    }


# (cut, entity, key, data as JSON text, digest, valid_from_seq, valid_from): a record_states row to insert
_StateRow = tuple[str, str, str, str, str, int, datetime]
_STATE_COLUMNS = ("cut", "entity", "key", "data", "digest", "valid_from_seq", "valid_from")


async def _insert_states(session: AsyncSession, states: list[_StateRow]) -> None:
    """Insert record states; on PostgreSQL with COPY (a whole batch's records in one fast round trip)."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        rows = [{**dict(zip(_STATE_COLUMNS, row, strict=True)), "data": msgspec.json.decode(row[3])} for row in states]
        await session.execute(insert(_STATES), rows)
        return
    # The JSON text goes as is: the jsonb codec SQLAlchemy registers on asyncpg takes text.
    await bulk_insert(session, _STATES, _STATE_COLUMNS, states)
