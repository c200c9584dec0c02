"""Publisher data-quality scores: computed daily for every commune, kept as history, explained."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, delete, select

from ogp_federation.aggregator.common import chile_day
from ogp_federation.aggregator.registry import Commune, Node
from ogp_federation.core.db import Database
from ogp_federation.core.errors import NotFoundError
from ogp_federation.core.logs import get_logger

from .facts import gather
from .methodology import COMPONENTS, MEASURES, VERSION, Score, score
from .models import QualityScore
from .schemas import (
    ComponentView,
    GapView,
    MeasureDefinition,
    MeasureView,
    MethodologyView,
    QualityView,
    ScorePoint,
)

__all__ = ["QualityService"]

_log = get_logger("ogp_federation.aggregator.quality")
_ROWS = cast(Table, QualityScore.__table__)
_SPECS = {spec.code: spec for spec in MEASURES}
HISTORY_DAYS = 400  # the history returned with a score (more than a year, for "the last 12 months")


class QualityService:
    """Computes the scores (daily job, CLI) and reads them back (API, CLI, dashboard)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def methodology() -> MethodologyView:
        """The methodology version in use: weights and measure definitions."""
        return MethodologyView(
            version=VERSION,
            weights={code: weight for code, (weight, _, _) in COMPONENTS.items()},
            measures=[
                MeasureDefinition(
                    code=s.code,
                    component=s.component,
                    name_es=s.name_es,
                    name_en=s.name_en,
                    definition_es=s.definition_es,
                    definition_en=s.definition_en,
                )
                for s in MEASURES
            ],
            document="docs/metodologia-calidad.md",
        )

    async def compute(self, *, now: datetime | None = None, cuts: list[str] | None = None) -> int:
        """Score every commune with a harvested version (or ``cuts``) for Chile's day at ``now``; returns how many."""
        moment = now or datetime.now(UTC)
        day = chile_day(moment)
        async with self.db.sessions() as session:
            query = select(Node.cut, Node.id).order_by(Node.cut)
            if cuts is not None:
                query = query.where(Node.cut.in_(cuts))
            nodes = (await session.execute(query)).all()
        written = 0
        for cut, node_id in nodes:
            async with self.db.transaction() as session:
                gathered = await gather(session, cut, node_id, moment)
                if gathered is None:
                    continue
                facts, synthetic = gathered
                result = score(facts)
                await session.execute(
                    delete(_ROWS).where(_ROWS.c.cut == cut, _ROWS.c.day == day, _ROWS.c.methodology == VERSION)
                )
                session.add(_row(cut, result, moment, synthetic=synthetic))
                written += 1
        _log.info("quality.computed", communes=written, day=day.isoformat(), methodology=VERSION)
        return written

    async def quality(self, cut: str) -> QualityView:
        """A commune's latest score (by the current methodology if it has one), with gaps and history."""
        async with self.db.sessions() as session:
            name = await session.scalar(select(Commune.name).where(Commune.cut == cut))
            if name is None:
                raise NotFoundError(f"comuna {cut} no registrada", f"commune {cut} is not registered")
            rows = (
                await session.scalars(
                    select(QualityScore)
                    .where(QualityScore.cut == cut)
                    .order_by(QualityScore.day.desc(), QualityScore.methodology.desc())
                    .limit(HISTORY_DAYS)
                )
            ).all()
        if not rows:
            raise NotFoundError(
                f"aún no hay puntaje de calidad de {cut}", f"no quality score of {cut} yet", code="quality.no_score"
            )
        latest = next((r for r in rows if r.methodology == VERSION), rows[0])
        detail = latest.detail
        return QualityView(
            cut=cut,
            name=name,
            methodology=latest.methodology,
            day=latest.day,
            computed_at=latest.computed_at,
            overall=latest.overall,
            components=[_component(c) for c in detail.get("components", [])],
            gaps=[_gap(g) for g in detail.get("gaps", [])],
            synthetic=bool(detail.get("synthetic", False)),
            history=[
                ScorePoint(
                    day=r.day,
                    methodology=r.methodology,
                    overall=r.overall,
                    timeliness=r.timeliness,
                    completeness=r.completeness,
                    validity=r.validity,
                    availability=r.availability,
                )
                for r in rows
            ],
        )


def _row(cut: str, result: Score, moment: datetime, *, synthetic: bool) -> QualityScore:
    values = {c.code: c.value for c in result.components}
    return QualityScore(
        cut=cut,
        day=result.day,
        methodology=result.version,
        overall=result.overall,
        timeliness=values["timeliness"],
        completeness=values["completeness"],
        validity=values["validity"],
        availability=values["availability"],
        detail=msgspec.to_builtins({"components": result.components, "gaps": result.gaps, "synthetic": synthetic}),
        computed_at=moment,
    )


def _component(data: dict[str, Any]) -> ComponentView:
    _, name_es, name_en = COMPONENTS.get(data["code"], (0.0, data["code"], data["code"]))
    return ComponentView(
        code=data["code"],
        name_es=name_es,
        name_en=name_en,
        weight=data["weight"],
        value=data["value"],
        measures=[
            MeasureView(
                code=m["code"],
                name_es=_SPECS[m["code"]].name_es if m["code"] in _SPECS else m["code"],
                name_en=_SPECS[m["code"]].name_en if m["code"] in _SPECS else m["code"],
                value=m["value"],
                numerator=m["numerator"],
                denominator=m["denominator"],
            )
            for m in data["measures"]
        ],
    )


def _gap(data: dict[str, Any]) -> GapView:
    spec = _SPECS.get(data["measure"])
    return GapView(
        measure=data["measure"],
        points=data["points"],
        fix_es=spec.fix_es if spec else "",
        fix_en=spec.fix_en if spec else "",
        count=data["count"],
        items=data["items"],
    )
