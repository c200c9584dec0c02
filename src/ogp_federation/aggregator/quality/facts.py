"""Gathering one commune's facts for the methodology from the history (metadata, polls, current feed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.common import CHILE, chile_day
from ogp_federation.aggregator.history import FeedVersion, HarvestEvent, RecordState, current_feed
from ogp_federation.feed import PlanFeed, encode
from ogp_federation.feed.enums import InputState, MilestoneStatus
from ogp_federation.feed.validation import Severity, validate

from .methodology import Facts

__all__ = ["core_missing", "gather"]

WINDOW_DAYS = 30
MONTHS = 12


def _month(moment: datetime) -> tuple[int, int]:
    local = moment.astimezone(CHILE)
    return local.year, local.month


def _months_between(first: tuple[int, int], last: tuple[int, int]) -> int:
    return (last[0] - first[0]) * 12 + last[1] - first[1] + 1


_CORE = {
    "commitments": ("problem", "expected_results", "budget_clp", "lead_organization_id"),
    "milestones": ("description",),
    "participation_events": ("attendees", "breakdown", "minutes_url"),
    "methodologies": ("steps", "resources", "license", "contact"),
    "indicators": ("method", "source"),
}


def core_missing(feed: PlanFeed) -> tuple[int, list[str]]:
    """The core optional fields a feed could fill, and those it leaves empty (``entity/id: field``)."""
    slots: list[tuple[str, str, str, Any]] = []
    for c in feed.commitments:
        slots += [("commitments", c.id, name, getattr(c, name)) for name in _CORE["commitments"]]
    for m in feed.milestones:
        slots += [("milestones", m.id, name, getattr(m, name)) for name in _CORE["milestones"]]
    for e in feed.participation_events:
        slots += [("participation_events", e.id, name, getattr(e, name)) for name in _CORE["participation_events"]]
    for x in feed.methodologies:
        slots += [("methodologies", x.id, name, getattr(x, name)) for name in _CORE["methodologies"]]
    for i in feed.indicators:
        slots += [("indicators", i.code, name, getattr(i, name)) for name in _CORE["indicators"]]
    missing = [f"{entity}/{key}: {name}" for entity, key, name, value in slots if value in (None, "", [])]
    return len(slots), missing


def _grouped(events: Sequence[Any]) -> list[str]:
    """Poll problems grouped by code: ``code: message (N×, last date)``, most frequent first."""
    counts: Counter[str] = Counter()
    last: dict[str, tuple[datetime, str]] = {}
    for event in events:
        code = event.code or event.outcome
        counts[code] += 1
        if code not in last or event.at > last[code][0]:
            last[code] = (event.at, event.message or "")
    out = []
    for code, count in counts.most_common():
        at, message = last[code]
        out.append(f"{code}: {message} ({count}×, {at.astimezone(CHILE):%Y-%m-%d})".replace(":  (", " ("))
    return out


async def _records_at(session: AsyncSession, cut: str, sequence: int) -> int:
    states = RecordState
    query = select(func.count()).where(
        states.cut == cut,
        states.valid_from_seq <= sequence,
        or_(states.valid_to_seq.is_(None), states.valid_to_seq > sequence),
    )
    return int(await session.scalar(query) or 0)


async def gather(session: AsyncSession, cut: str, node_id: int, now: datetime) -> tuple[Facts, bool] | None:
    """The facts of one commune at ``now`` and whether its feed is synthetic; None before a first version."""
    versions = (
        await session.execute(
            select(FeedVersion.sequence, FeedVersion.accepted_at, FeedVersion.counts)
            .where(FeedVersion.cut == cut, FeedVersion.status == "accepted")
            .order_by(FeedVersion.accepted_at, FeedVersion.id)
        )
    ).all()
    found = await current_feed(session, cut)
    if not versions or found is None:
        return None
    feed, _ = found
    today = _month(now)
    months_counted = min(MONTHS, _months_between(_month(versions[0].accepted_at), today))
    updated = {_month(v.accepted_at) for v in versions if _months_between(_month(v.accepted_at), today) <= MONTHS}
    window_start = now - timedelta(days=WINDOW_DAYS)
    in_force = [v for v in versions if v.accepted_at >= window_start]
    before = [v for v in versions if v.accepted_at < window_start]
    if before:
        in_force.insert(0, before[-1])  # the version in force when the window opened
    records = sum([await _records_at(session, cut, v.sequence) for v in in_force])
    warnings = sum(int(v.counts.get(Severity.WARNING.value, 0)) for v in in_force)
    advisories = sum(int(v.counts.get(Severity.ADVISORY.value, 0)) for v in in_force)
    report = validate(encode(feed), now=now)
    polls = (
        await session.execute(
            select(HarvestEvent.outcome, HarvestEvent.code, HarvestEvent.message, HarvestEvent.at).where(
                and_(HarvestEvent.node_id == node_id, HarvestEvent.at >= window_start, HarvestEvent.at <= now)
            )
        )
    ).all()
    offered = [p for p in polls if p.outcome in ("accepted", "invalid", "quarantined")]
    completed = [m for m in feed.milestones if m.status is MilestoneStatus.COMPLETED]
    answerable = [i for i in feed.inputs if i.state is not InputState.WITHDRAWN]
    slots, missing = core_missing(feed)
    facts = Facts(
        day=chile_day(now),
        months_counted=months_counted,
        months_updated=len(updated),
        days_since_change=max(0, (now - versions[-1].accepted_at).days),
        milestones_completed=len(completed),
        milestones_without_evidence=[m.id for m in completed if not m.evidence],
        inputs_answerable=len(answerable),
        inputs_unanswered=[i.id for i in answerable if not i.reasoned_response],
        core_slots=slots,
        core_missing=missing,
        records_seen=records,
        warnings=warnings,
        advisories=advisories,
        findings=[
            f"{f.rule} ({f.severity.value}) {f.path}: {f.message}"
            for f in report.findings
            if f.severity in (Severity.WARNING, Severity.ADVISORY)
        ],
        versions_offered=len(offered),
        versions_rejected=_grouped([p for p in offered if p.outcome != "accepted"]),
        polls=len(polls),
        polls_failed=_grouped([p for p in polls if p.outcome == "error"]),
    )
    return facts, feed.synthetic
