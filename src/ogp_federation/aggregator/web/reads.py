"""What the dashboard reads that no other context answers: the month's activity and the communes most behind.

Over the history's current record states (milestones' ``status``, ``due`` and ``completed_on`` read from
their JSON with the database's own operators, on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.history import FeedVersion, RecordState
from ogp_federation.aggregator.registry import Commune

from .schemas import Behind, MonthActivity

__all__ = ["behind", "month_activity", "plan_records", "recent_versions"]


def _milestones() -> Any:
    states = RecordState
    return states.entity == "milestones", states.valid_to.is_(None)


async def month_activity(session: AsyncSession, since: datetime) -> MonthActivity:
    """Versions accepted, milestones completed and methodologies first published since ``since``."""
    versions = (
        await session.execute(
            select(func.count(), func.count(func.distinct(FeedVersion.cut))).where(
                FeedVersion.status == "accepted", FeedVersion.accepted_at >= since
            )
        )
    ).one()
    states = RecordState
    completed = await session.scalar(
        select(func.count()).where(
            *_milestones(),
            states.data["status"].as_string() == "completed",
            states.data["completed_on"].as_string() >= since.date().isoformat(),
        )
    )
    first = (
        select(states.cut, states.key)
        .where(states.entity == "methodologies")
        .group_by(states.cut, states.key)
        .having(func.min(states.valid_from) >= since)
        .subquery()
    )
    methodologies = await session.scalar(select(func.count()).select_from(first))
    return MonthActivity(int(versions[0]), int(versions[1]), int(completed or 0), int(methodologies or 0))


async def behind(session: AsyncSession, today: date, *, most: int = 10) -> list[Behind]:
    """The communes with the most milestones past due and not completed, most first."""
    states = RecordState
    status, due = states.data["status"].as_string(), states.data["due"].as_string()
    overdue = func.sum(case((due < today.isoformat(), 1), else_=0))
    query = (
        select(states.cut, Commune.name, func.count().label("open"), overdue.label("overdue"))
        .join(Commune, Commune.cut == states.cut)
        .where(*_milestones(), status.not_in(["completed", "cancelled"]))
        .group_by(states.cut, Commune.name)
        .order_by(overdue.desc(), states.cut)
        .limit(most)
    )
    rows = (await session.execute(query)).all()
    return [Behind(row.cut, row.name, int(row.overdue or 0), int(row.open)) for row in rows if row.overdue]


async def plan_records(session: AsyncSession, cut: str, entity: str, *, most: int) -> tuple[list[dict[str, Any]], int]:
    """Up to ``most`` current records of a collection (by key), and how many there are in all."""
    states = RecordState
    where = (states.cut == cut, states.entity == entity, states.valid_to.is_(None))
    total = int(await session.scalar(select(func.count()).where(*where)) or 0)
    rows = await session.scalars(select(states.data).where(*where).order_by(states.key).limit(most))
    return list(rows), total


async def recent_versions(session: AsyncSession, cut: str, *, most: int = 10) -> list[Any]:
    """The commune's latest harvested versions, newest first."""
    query = (
        select(
            FeedVersion.id,
            FeedVersion.sequence,
            FeedVersion.status,
            FeedVersion.source,
            FeedVersion.generated_at,
            FeedVersion.accepted_at,
            FeedVersion.reason,
        )
        .where(FeedVersion.cut == cut)
        .order_by(FeedVersion.id.desc())
        .limit(most)
    )
    return list((await session.execute(query)).all())
