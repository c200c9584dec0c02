"""Keeping the analytic store current: per accepted version (incremental) and from the whole history (rebuild).

An accepted version closes the commune's rows whose value changed or vanished and opens the new ones,
valid from the moment the version was accepted; unchanged rows stay as they are. A rebuild replays every
accepted version of every commune in the order they were accepted, through the same code, so it ends
with the same rows as the incremental path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.history import AcceptedFeed, FeedVersion
from ogp_federation.core.db import Database
from ogp_federation.feed import PlanFeed, decode
from ogp_federation.feed.changes import ChangeError, apply_changes
from ogp_federation.feed.protocol import ChangePage

from .catalogue import catalogue
from .derive import Derived, derive
from .models import BenchObservation

__all__ = ["keep_current", "rebuild"]

_ROWS = cast(Table, BenchObservation.__table__)
_Key = tuple[str, str, str]  # code, period, source


def _rows(item: AcceptedFeed, derived: list[Derived]) -> dict[_Key, dict[str, Any]]:
    units = {indicator.code: indicator.unit for indicator in catalogue().indicator}
    return {
        (d.code, d.period, "derived"): {
            "cut": item.cut,
            "code": d.code,
            "period": d.period,
            "period_start": d.period_start,
            "period_end": d.period_end,
            "value": d.value,
            "unit": units[d.code],
            "denominator": d.denominator,
            "provisional": d.provisional,
            "source": "derived",
            "version_id": item.version_id,
            "observed_at": item.feed.generated_at,
            "valid_from": item.accepted_at,
            "valid_to": None,
        }
        for d in derived
    }


_COMPARED = ("value", "unit", "denominator", "provisional", "period_start", "period_end")


async def keep_current(session: AsyncSession, accepted: list[AcceptedFeed]) -> None:
    """Bring the store up to date with versions that just became current (a history listener)."""
    for item in accepted:
        fresh = _rows(item, derive(item.feed))
        open_rows = (
            await session.execute(
                select(_ROWS).where(_ROWS.c.cut == item.cut, _ROWS.c.valid_to.is_(None), _ROWS.c.source == "derived")
            )
        ).all()
        closing = []
        for row in open_rows:
            key = (row.code, row.period, row.source)
            new = fresh.get(key)
            if new is not None and all(new[name] == getattr(row, name) for name in _COMPARED):
                del fresh[key]  # unchanged: the open row stays, with the version it first came from
            else:
                closing.append(row.id)
        if closing:
            await session.execute(update(_ROWS).where(_ROWS.c.id.in_(closing)).values(valid_to=item.accepted_at))
        if fresh:
            await session.execute(insert(_ROWS), list(fresh.values()))


def _feed_of(version: Any, previous: PlanFeed | None) -> PlanFeed | None:
    """The full feed a stored version stands for (a change page applies to the feed before it)."""
    if version.source == "feed":
        return decode(version.body)
    if previous is None:
        return None
    try:
        return apply_changes(previous, msgspec.json.decode(version.body, type=ChangePage))
    except (ChangeError, msgspec.DecodeError, msgspec.ValidationError):
        return None  # cannot happen for an accepted version; a rebuild never stops on one


async def rebuild(db: Database) -> int:
    """Recompute the whole store from the accepted history; returns the number of rows written."""
    async with db.transaction() as session:
        await session.execute(delete(_ROWS))
        cuts = (await session.scalars(select(FeedVersion.cut).distinct().order_by(FeedVersion.cut))).all()
    for cut in cuts:
        async with db.transaction() as session:
            versions = (
                await session.execute(
                    select(FeedVersion.id, FeedVersion.source, FeedVersion.body, FeedVersion.accepted_at)
                    .where(FeedVersion.cut == cut, FeedVersion.status == "accepted")
                    .order_by(FeedVersion.accepted_at, FeedVersion.id)
                )
            ).all()
            feed: PlanFeed | None = None
            for version in versions:
                feed = _feed_of(version, feed)
                if feed is not None:
                    accepted_at: datetime = version.accepted_at
                    await keep_current(session, [AcceptedFeed(cut, version.id, accepted_at, feed)])
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(_ROWS)) or 0)
