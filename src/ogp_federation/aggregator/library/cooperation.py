"""The federation's record of cooperation: ``adopted_from`` links resolved against the harvested feeds.

A link is *verified* when the methodology it names exists in that commune's current harvested version,
and *flagged* when it does not (a typo, a commune not in the federation, a methodology since removed).
When a methodology was first published is the start of its first record state in the history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ogp_federation.aggregator.history import FeedVersion, RecordState
from ogp_federation.aggregator.registry import Commune

from .models import LibraryAdoption, LibraryEntry
from .schemas import Adoption, Cooperation, MethodologyView

__all__ = ["commune_cooperation", "methodology"]

_ROWS = cast(Table, LibraryEntry.__table__)
_LINKS = cast(Table, LibraryAdoption.__table__)
MAX_LINEAGE = 10


async def _names(session: AsyncSession, cuts: set[str]) -> dict[str, str]:
    rows = (await session.execute(select(Commune.cut, Commune.name).where(Commune.cut.in_(sorted(cuts))))).all()
    return {str(cut): str(name) for cut, name in rows}


async def _existing(session: AsyncSession, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Which (cut, key) methodologies are in the index, with their titles."""
    if not pairs:
        return {}
    query = select(_ROWS.c.cut, _ROWS.c.key, _ROWS.c.title).where(
        _ROWS.c.kind == "methodology", tuple_(_ROWS.c.cut, _ROWS.c.key).in_(sorted(pairs))
    )
    return {(cut, key): title for cut, key, title in (await session.execute(query)).all()}


async def _first_published(session: AsyncSession, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
    if not pairs:
        return {}
    states = RecordState
    query = (
        select(states.cut, states.key, func.min(states.valid_from))
        .where(states.entity == "methodologies", tuple_(states.cut, states.key).in_(sorted(pairs)))
        .group_by(states.cut, states.key)
    )
    return {(cut, key): moment for cut, key, moment in (await session.execute(query)).all()}


async def _adoptions(session: AsyncSession, condition: Any) -> list[Adoption]:
    links = (await session.execute(select(_LINKS).where(condition).order_by(_LINKS.c.id))).all()
    sources = {(link.source_cut, link.source_key) for link in links}
    adopters = {(link.adopter_cut, link.adopter_key) for link in links}
    found = await _existing(session, sources | adopters)
    since = await _first_published(session, adopters)
    names = await _names(session, {c for c, _ in sources | adopters})
    return [
        Adoption(
            adopter_cut=link.adopter_cut,
            adopter_commune=names.get(link.adopter_cut, link.adopter_cut),
            adopter_key=link.adopter_key,
            adopter_title=found.get((link.adopter_cut, link.adopter_key), ""),
            source_cut=link.source_cut,
            source_commune=names.get(link.source_cut, link.source_cut),
            source_key=link.source_key,
            source_title=found.get((link.source_cut, link.source_key)),
            verified=(link.source_cut, link.source_key) in found,
            adopted_since=since.get((link.adopter_cut, link.adopter_key)),
        )
        for link in links
    ]


async def methodology(session: AsyncSession, cut: str, key: str) -> MethodologyView | None:
    """One methodology: who adopted it (and when), and where it came from (its lineage, oldest last)."""
    row = (
        await session.execute(
            select(_ROWS).where(_ROWS.c.cut == cut, _ROWS.c.kind == "methodology", _ROWS.c.key == key)
        )
    ).first()
    if row is None:
        return None
    adopted_by = await _adoptions(session, and_(_LINKS.c.source_cut == cut, _LINKS.c.source_key == key))
    lineage: list[Adoption] = []
    seen = {(cut, key)}
    current = (cut, key)
    for _ in range(MAX_LINEAGE):  # a chain of adoptions, cycle-safe and bounded
        step = await _adoptions(session, and_(_LINKS.c.adopter_cut == current[0], _LINKS.c.adopter_key == current[1]))
        if not step:
            break
        lineage.append(step[0])
        current = (step[0].source_cut, step[0].source_key)
        if current in seen or not step[0].verified:
            break
        seen.add(current)
    names = await _names(session, {cut})
    return MethodologyView(
        cut=cut,
        commune=names.get(cut, cut),
        key=key,
        title=row.title,
        summary=row.summary,
        pillars=row.pillars.split(),
        has_resources=row.has_resources,
        license=row.license,
        synthetic=row.synthetic,
        detail=row.detail,
        adopted_by=adopted_by,
        lineage=lineage,
        signed_version_id=await _signed_version(session, cut, key),
    )


async def _signed_version(session: AsyncSession, cut: str, key: str) -> int | None:
    """The accepted version that brought the methodology's current state: its signed bytes hold it."""
    query = (
        select(FeedVersion.id)
        .join(
            RecordState,
            and_(RecordState.cut == FeedVersion.cut, RecordState.valid_from_seq == FeedVersion.sequence),
        )
        .where(
            FeedVersion.cut == cut,
            FeedVersion.status == "accepted",
            RecordState.entity == "methodologies",
            RecordState.key == key,
            RecordState.valid_to_seq.is_(None),
        )
        .order_by(FeedVersion.id.desc())
        .limit(1)
    )
    found = await session.scalar(query)
    return int(found) if found is not None else None


async def commune_cooperation(session: AsyncSession, cut: str) -> Cooperation:
    """What a commune adopted from others and what others adopted from it, counted."""
    adopted = await _adoptions(session, _LINKS.c.adopter_cut == cut)
    claimed = await _adoptions(session, and_(_LINKS.c.source_cut == cut, _LINKS.c.adopter_cut != cut))
    shared = [a for a in claimed if a.verified]  # a link to a methodology it does not publish is not its credit
    own = int(
        await session.scalar(
            select(func.count()).select_from(_ROWS).where(_ROWS.c.cut == cut, _ROWS.c.kind == "methodology")
        )
        or 0
    )
    return Cooperation(
        cut=cut,
        methodologies=own,
        adopted=adopted,
        adopted_by_others=shared,
        adopted_verified=sum(1 for a in adopted if a.verified),
        adopted_flagged=sum(1 for a in adopted if not a.verified),
        communes_that_adopted_from_it=len({a.adopter_cut for a in shared}),
    )
