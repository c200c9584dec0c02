"""Keeping the analytic store current: per accepted version (incremental) and from the whole history (rebuild).

Two sources feed it: the values the aggregator derives from each plan, and the observations a commune
publishes for its own indicators mapped to a *published* catalogue indicator (``catalogue_code``, Plan
Feed 1.1) in the catalogue's unit and period.

An accepted version closes the commune's rows whose value changed or vanished and opens the new ones,
valid from the moment the version was accepted; unchanged rows stay as they are. A rebuild replays every
accepted version of every commune in the order they were accepted, through the same code, so it ends
with the same rows as the incremental path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.history import AcceptedFeed, FeedVersion, feed_of
from ogp_federation.core.db import Database, bulk_insert
from ogp_federation.feed import PlanFeed
from ogp_federation.feed.enums import ObservationStatus

from .catalogue import catalogue
from .derive import Derived, derive
from .models import BenchObservation

__all__ = ["keep_current", "rebuild"]

_ROWS = cast(Table, BenchObservation.__table__)
_Key = tuple[str, str, str]  # code, period, source


def _published(feed: PlanFeed) -> list[Derived]:
    """Observations of the commune's indicators mapped to a published catalogue indicator, same unit, whole years.

    Two indicators mapped to the same code: the first one listed counts. Other periods are not compared.
    """
    known = catalogue()
    mapped: dict[str, str] = {}  # catalogue code → the commune's indicator code
    for indicator in feed.indicators:
        entry = known.get(indicator.catalogue_code or "")
        if entry is None or entry.kind != "published" or entry.unit != indicator.unit or entry.period != "year":
            continue
        mapped.setdefault(entry.code, indicator.code)
    by_indicator = {own: code for code, own in mapped.items()}
    out: dict[tuple[str, str], Derived] = {}
    today = feed.generated_at.date()
    for observation in feed.observations:
        code = by_indicator.get(observation.indicator_code)
        entry = known.get(code or "")
        start, end = observation.period_start, observation.period_end
        if entry is None or (observation.unit is not None and observation.unit != entry.unit):
            continue
        if (start.month, start.day, end.month, end.day) != (1, 1, 12, 31) or start.year != end.year:
            continue
        provisional = observation.status is ObservationStatus.PROVISIONAL or end > today
        year = str(start.year)
        out.setdefault((entry.code, year), Derived(entry.code, year, start, end, observation.value, 0, provisional))
    return list(out.values())


def _rows(item: AcceptedFeed, derived: list[Derived], published: list[Derived]) -> dict[_Key, dict[str, Any]]:
    units = {indicator.code: indicator.unit for indicator in catalogue().indicator}
    return {
        (d.code, d.period, source): {
            "cut": item.cut,
            "code": d.code,
            "period": d.period,
            "period_start": d.period_start,
            "period_end": d.period_end,
            "value": d.value,
            "unit": units[d.code],
            "denominator": d.denominator,
            "provisional": d.provisional,
            "source": source,
            "synthetic": item.feed.synthetic,
            "version_id": item.version_id,
            "observed_at": item.feed.generated_at,
            "valid_from": item.accepted_at,
            "valid_to": None,
        }
        for source, values in (("derived", derived), ("published", published))
        for d in values
    }


_COLUMNS = [column.name for column in _ROWS.columns if column.name != "id"]
_COMPARED = ("value", "unit", "denominator", "provisional", "period_start", "period_end", "synthetic")


async def keep_current(session: AsyncSession, accepted: list[AcceptedFeed]) -> None:
    """Bring the store up to date with versions that just became current (a history listener).

    Set-based, as the harvest's batches are: one read of the batch's open rows, one update closing the
    changed ones, one insert of the new ones, whatever the number of communes.
    """
    if len({item.cut for item in accepted}) < len(accepted):  # one commune twice: in order, one at a time
        for item in accepted:
            await keep_current(session, [item])
        return
    cuts = [item.cut for item in accepted]
    current: dict[str, list[Any]] = {cut: [] for cut in cuts}
    for row in (await session.execute(select(_ROWS).where(_ROWS.c.cut.in_(cuts), _ROWS.c.valid_to.is_(None)))).all():
        current[row.cut].append(row)
    closing: list[dict[str, Any]] = []
    opening: list[dict[str, Any]] = []
    for item in accepted:
        fresh = _rows(item, derive(item.feed), _published(item.feed))
        for row in current[item.cut]:
            key = (row.code, row.period, row.source)
            new = fresh.get(key)
            if new is not None and all(new[name] == getattr(row, name) for name in _COMPARED):
                del fresh[key]  # unchanged: the open row stays, with the version it first came from
            else:
                closing.append({"row_id": row.id, "at": item.accepted_at})
        opening.extend(fresh.values())
    if closing:
        await session.execute(
            update(_ROWS).where(_ROWS.c.id == bindparam("row_id")).values(valid_to=bindparam("at")), closing
        )
    await bulk_insert(session, _ROWS, _COLUMNS, [tuple(row[name] for name in _COLUMNS) for row in opening])


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
                feed = feed_of(version, feed)
                if feed is not None:
                    accepted_at: datetime = version.accepted_at
                    await keep_current(session, [AcceptedFeed(cut, version.id, accepted_at, feed)])
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(_ROWS)) or 0)
