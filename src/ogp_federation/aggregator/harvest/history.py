"""The history store: accepted versions, normalised record states, per-record diffs, and past states."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.models import FeedVersion, Node, RecordState, VersionChange
from ogp_federation.feed import PlanFeed
from ogp_federation.feed.entities import iter_records

__all__ = ["current_records", "dropped_share", "record_accepted", "records_as_of", "snapshot_records"]

RecordKey = tuple[str, str]


def snapshot_records(feed: PlanFeed) -> dict[RecordKey, dict[str, Any]]:
    """Every record of ``feed`` by (collection, key), as plain data."""
    return {(c.entity.value, c.key_of(r)): msgspec.to_builtins(r) for c, _, r in iter_records(feed)}


async def current_records(session: AsyncSession, cut: str) -> dict[RecordKey, RecordState]:
    """The open record states of a commune (its current accepted content)."""
    rows = await session.scalars(select(RecordState).where(RecordState.cut == cut, RecordState.valid_to_seq.is_(None)))
    return {(row.entity, row.key): row for row in rows}


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
) -> FeedVersion:
    """Store an accepted version with its normalised records and the diff from the previous one."""
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
    current = await current_records(session, node.cut)
    new = snapshot_records(feed)
    at, sequence = feed.generated_at, feed.sequence
    for key, data in new.items():
        state = current.get(key)
        if state is not None and state.data == data:
            continue
        if state is None:
            session.add(VersionChange(version_id=version.id, entity=key[0], key=key[1], kind="added", new=data))
        else:
            state.valid_to_seq, state.valid_to = sequence, at
            fields = sorted(k for k in set(state.data) | set(data) if state.data.get(k) != data.get(k))
            session.add(
                VersionChange(
                    version_id=version.id,
                    entity=key[0],
                    key=key[1],
                    kind="changed",
                    fields=fields,
                    old=state.data,
                    new=data,
                )
            )
        session.add(
            RecordState(cut=node.cut, entity=key[0], key=key[1], data=data, valid_from_seq=sequence, valid_from=at)
        )
    for key, state in current.items():
        if key not in new:
            state.valid_to_seq, state.valid_to = sequence, at
            session.add(VersionChange(version_id=version.id, entity=key[0], key=key[1], kind="deleted", old=state.data))
    node.sequence = sequence
    node.current_version_id = version.id
    return version


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
