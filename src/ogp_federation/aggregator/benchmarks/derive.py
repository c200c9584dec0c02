"""Derived indicators: each catalogue formula computed from one feed, the same way for every commune.

Pure: a feed in, values out. A value is computed for every calendar year the feed has data for (from
the first year any milestone falls due or event starts, to the year of the feed), and only when its
denominator reaches the catalogue's minimum. A year that has not ended at the feed's date is
provisional.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from ogp_federation.feed import PlanFeed
from ogp_federation.feed.enums import (
    AssessmentKind,
    Completion,
    Entity,
    EventType,
    Gender,
    IAP2Level,
    InputState,
    MilestoneStatus,
    Modality,
    OpenGovernmentEffect,
)
from ogp_federation.feed.model import Assessment, Commitment, Input, Milestone, ParticipationEvent

from .catalogue import Catalogue, catalogue

__all__ = ["Derived", "derive"]

_IAP2 = {
    IAP2Level.INFORM: 1,
    IAP2Level.CONSULT: 2,
    IAP2Level.INVOLVE: 3,
    IAP2Level.COLLABORATE: 4,
    IAP2Level.EMPOWER: 5,
}


@dataclass(frozen=True)
class Derived:
    """One derived value: indicator, calendar year, value, and the denominator it rests on."""

    code: str
    period: str
    period_start: date
    period_end: date
    value: float
    denominator: int
    provisional: bool


@dataclass(frozen=True)
class _Year:
    """What a formula sees: the feed, the year, and the feed's records that fall in it."""

    feed: PlanFeed
    year: int
    today: date

    def due(self) -> list[Milestone]:
        return [m for m in self.feed.milestones if m.due.year == self.year]

    def counted(self) -> list[Milestone]:
        return [m for m in self.due() if m.status is not MilestoneStatus.CANCELLED]

    def events(self) -> list[ParticipationEvent]:
        return [e for e in self.feed.participation_events if e.start.year == self.year]

    def inputs(self) -> list[Input]:
        ids = {e.id for e in self.events()}
        return [i for i in self.feed.inputs if i.event_id in ids]

    def active(self) -> list[Commitment]:
        first, last = date(self.year, 1, 1), date(self.year, 12, 31)
        return [c for c in self.feed.commitments if c.parent_id is None and c.start <= last and c.end >= first]

    def latest_independent(self) -> list[Assessment]:
        """Per commitment, its latest independent assessment dated in the year."""
        chosen: dict[str, Assessment] = {}
        for a in self.feed.assessments:
            if a.kind is not AssessmentKind.INDEPENDENT or a.target_entity is not Entity.COMMITMENTS:
                continue
            if a.assessed_on.year == self.year and (
                a.target_id not in chosen or a.assessed_on >= chosen[a.target_id].assessed_on
            ):
                chosen[a.target_id] = a
        return list(chosen.values())


Ratio = tuple[float, int] | None  # (value, denominator), None when it has no denominator at all


def _share(hits: int, total: int) -> Ratio:
    return (100.0 * hits / total, total) if total else None


def _mean(values: list[float]) -> Ratio:
    return (statistics.fmean(values), len(values)) if values else None


def _on_time(y: _Year) -> Ratio:
    counted = y.counted()
    hits = sum(
        1
        for m in counted
        if m.status is MilestoneStatus.COMPLETED and m.completed_on is not None and m.completed_on <= m.due
    )
    return _share(hits, len(counted))


def _completed(y: _Year) -> Ratio:
    counted = y.counted()
    return _share(sum(1 for m in counted if m.status is MilestoneStatus.COMPLETED), len(counted))


def _days_late(y: _Year) -> Ratio:
    done = [m for m in y.due() if m.status is MilestoneStatus.COMPLETED and m.completed_on is not None]
    return _mean([float(max(0, (m.completed_on - m.due).days)) for m in done if m.completed_on is not None])


def _overdue(y: _Year) -> Ratio:
    counted = y.counted()
    late = sum(1 for m in counted if m.due < y.today and m.status is not MilestoneStatus.COMPLETED)
    return _share(late, len(counted))


def _evidenced(y: _Year) -> Ratio:
    done = [m for m in y.feed.milestones if m.completed_on is not None and m.completed_on.year == y.year]
    return _share(sum(1 for m in done if m.evidence), len(done))


def _cancelled(y: _Year) -> Ratio:
    due = y.due()
    return _share(sum(1 for m in due if m.status is MilestoneStatus.CANCELLED), len(due))


def _active(y: _Year) -> Ratio:
    active = y.active()
    return (float(len(active)), len(active)) if active else None


def _progress(y: _Year) -> Ratio:
    return _mean([float(c.progress) for c in y.active()])


def _irm(wanted: Callable[[Assessment], bool | None]) -> Callable[[_Year], Ratio]:
    def formula(y: _Year) -> Ratio:
        rated = [verdict for verdict in map(wanted, y.latest_independent()) if verdict is not None]
        return _share(sum(rated), len(rated))

    return formula


def _substantial(assessment: Assessment) -> bool | None:
    completion = assessment.completion
    return None if completion is None else completion in (Completion.SUBSTANTIAL, Completion.COMPLETE)


def _opened(assessment: Assessment) -> bool | None:
    effect = assessment.did_it_open_government
    return None if effect is None else effect in (OpenGovernmentEffect.MAJOR, OpenGovernmentEffect.OUTSTANDING)


def _pillars(y: _Year) -> Ratio:
    active = y.active()
    return (float(len({p for c in active for p in c.pillars})), len(active)) if active else None


def _budgeted(y: _Year) -> Ratio:
    active = y.active()
    return _share(sum(1 for c in active if c.budget_clp is not None), len(active))


def _events(y: _Year) -> Ratio:
    events = y.events()
    return (float(len(events)), len(events)) if events else None


def _per_thousand(y: _Year) -> Ratio:
    population = y.feed.publisher.population
    counted = [e.attendees for e in y.events() if e.attendees is not None]
    if population is None or population.value == 0 or not counted:
        return None
    return (1000.0 * sum(counted) / population.value, len(counted))


def _remote(y: _Year) -> Ratio:
    events = y.events()
    return _share(sum(1 for e in events if e.modality in (Modality.ONLINE, Modality.HYBRID)), len(events))


def _women(y: _Year) -> Ratio:
    women = reported = 0
    for event in y.events():
        for item in event.breakdown.gender if event.breakdown else []:
            if item.gender is Gender.NOT_REPORTED:
                continue
            reported += item.count
            women += item.count if item.gender is Gender.FEMALE else 0
    return (100.0 * women / reported, reported) if reported else None


def _minutes(y: _Year) -> Ratio:
    events = y.events()
    return _share(sum(1 for e in events if e.minutes_url), len(events))


def _of_type(kind: EventType) -> Callable[[_Year], Ratio]:
    def formula(y: _Year) -> Ratio:
        events = y.events()
        return (float(sum(1 for e in events if e.type is kind)), len(events)) if events else None

    return formula


def _iap2(y: _Year) -> Ratio:
    return _mean([float(_IAP2[e.iap2_level]) for e in y.events()])


def _answered(y: _Year) -> Ratio:
    inputs = [i for i in y.inputs() if i.state is not InputState.WITHDRAWN]
    return _share(sum(1 for i in inputs if i.reasoned_response), len(inputs))


def _accepted(y: _Year) -> Ratio:
    yes = (InputState.ACCEPTED, InputState.PARTIALLY_ACCEPTED)
    decided = [i for i in y.inputs() if i.state in (*yes, InputState.REJECTED)]
    return _share(sum(1 for i in decided if i.state in yes), len(decided))


def _days_to_answer(y: _Year) -> Ratio:
    ends = {e.id: e.end.date() for e in y.events()}
    days = [float((i.answered_on - ends[i.event_id]).days) for i in y.inputs() if i.answered_on is not None]
    return (statistics.median(days), len(days)) if days else None


def _inputs_per_event(y: _Year) -> Ratio:
    events = y.events()
    return (len(y.inputs()) / len(events), len(events)) if events else None


def _reported(y: _Year) -> Ratio:
    indicators = y.feed.indicators
    observed = {o.indicator_code for o in y.feed.observations if o.period_end.year == y.year}
    return _share(sum(1 for i in indicators if i.code in observed), len(indicators))


def _shared(y: _Year) -> Ratio:
    if y.year != y.today.year:  # methodologies carry no date: only the feed's own year is described
        return None
    return float(len(y.feed.methodologies)), len(y.feed.methodologies)


def _adopted(y: _Year) -> Ratio:
    if y.year != y.today.year:
        return None
    own = y.feed.publisher.cut
    adopted = [m for m in y.feed.methodologies if any(source.cut != own for source in m.adopted_from)]
    return float(len(adopted)), len(adopted)


FORMULAS: dict[str, Callable[[_Year], Ratio]] = {
    "hitos_a_tiempo": _on_time,
    "hitos_cumplidos": _completed,
    "dias_atraso_promedio": _days_late,
    "hitos_vencidos": _overdue,
    "hitos_con_evidencia": _evidenced,
    "hitos_cancelados": _cancelled,
    "compromisos_vigentes": _active,
    "avance_compromisos": _progress,
    "compromisos_sustanciales": _irm(_substantial),
    "compromisos_abrieron_gobierno": _irm(_opened),
    "pilares_cubiertos": _pillars,
    "compromisos_con_presupuesto": _budgeted,
    "eventos_participacion": _events,
    "participacion_por_mil": _per_thousand,
    "eventos_hibridos_o_en_linea": _remote,
    "participacion_mujeres": _women,
    "eventos_con_acta": _minutes,
    "sesiones_foro": _of_type(EventType.FORUM_SESSION),
    "nivel_iap2_promedio": _iap2,
    "aportes_con_respuesta": _answered,
    "aportes_acogidos": _accepted,
    "dias_respuesta_mediana": _days_to_answer,
    "aportes_por_evento": _inputs_per_event,
    "indicadores_reportados": _reported,
    "metodologias_compartidas": _shared,
    "metodologias_adoptadas": _adopted,
    "cuenta_publica_participativa": _of_type(EventType.PUBLIC_ACCOUNT),
}


def _years(feed: PlanFeed, today: date) -> Iterable[int]:
    starts = [m.due.year for m in feed.milestones] + [e.start.year for e in feed.participation_events]
    starts += [c.start.year for c in feed.commitments]
    first = min(starts, default=today.year)
    return range(max(first, today.year - 30), today.year + 1)  # no year after the feed's date is described


def derive(feed: PlanFeed, indicators: Catalogue | None = None) -> list[Derived]:
    """Every derived catalogue indicator of ``feed``, per calendar year, at the feed's date."""
    chosen = indicators or catalogue()
    today = feed.generated_at.date()
    out = []
    for year in _years(feed, today):
        scope = _Year(feed, year, today)
        for item in chosen.indicator:
            formula = FORMULAS.get(item.code) if item.kind == "derived" else None
            result = formula(scope) if formula else None
            if result is None or result[1] < item.min_denominator:
                continue
            end = date(year, 12, 31)
            value = round(result[0], 6)
            out.append(Derived(item.code, str(year), date(year, 1, 1), end, value, result[1], end > today))
    return out
