"""The data-quality methodology: its measures, how each one scores, the published weights. Pure.

Four components, each the mean of its measures that apply (0–100); the overall score is the weighted
mean of the components that apply, with the weights below renormalised over them. A measure that does
not apply (a commune with no citizen inputs has no answers to give) is left out rather than scored as
zero, so that a small plan is not punished for being small. Every measure names the concrete gaps that
cost it points; ``points`` says how many points of the overall score each gap costs.

A change to any definition or weight is a new ``VERSION``; scores keep the version they were computed
with and a new version never overwrites them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "COMPONENTS",
    "MEASURES",
    "VERSION",
    "Component",
    "Facts",
    "Gap",
    "Measure",
    "MeasureSpec",
    "Score",
    "score",
]

VERSION = "1"

FRESH_DAYS = 30  # a plan changed within this many days is fully fresh
STALE_DAYS = 365  # ... and scores nothing for freshness at this age
WARNING_PENALTY = 10.0  # points per warning per 100 records
ADVISORY_PENALTY = 2.0  # points per advisory per 100 records
MAX_ITEMS = 50  # concrete items listed per gap (the count says how many there are)


@dataclass(frozen=True)
class MeasureSpec:
    """A measure's published definition."""

    code: str
    component: str
    name_es: str
    name_en: str
    definition_es: str
    definition_en: str
    fix_es: str  # what to do to raise it
    fix_en: str


COMPONENTS: dict[str, tuple[float, str, str]] = {  # code: weight, name es, name en
    "timeliness": (0.25, "Oportunidad", "Timeliness"),
    "completeness": (0.30, "Completitud", "Completeness"),
    "validity": (0.25, "Validez", "Validity"),
    "availability": (0.20, "Disponibilidad", "Availability"),
}

MEASURES: tuple[MeasureSpec, ...] = (
    MeasureSpec(
        "months_updated",
        "timeliness",
        "Meses con actualización",
        "Months with an update",
        "De los últimos 12 meses (o de los meses desde que la federación cosecha la comuna, si son menos), "
        "en cuántos se aceptó una versión nueva del plan: 100 × meses con versión ÷ meses considerados.",
        "Of the last 12 months (or the months since the federation first harvested the commune, if fewer), "
        "in how many a new version of the plan was accepted: 100 × months with a version ÷ months counted.",
        "Publique al menos un cambio cada mes: el avance de un hito, una evidencia, una actividad.",
        "Publish at least one change each month: a milestone's progress, evidence, an event.",
    ),
    MeasureSpec(
        "days_since_change",
        "timeliness",
        "Días desde el último cambio",
        "Days since the last change",
        f"Días desde que se aceptó la versión vigente: 100 hasta {FRESH_DAYS} días, luego baja en línea recta "
        f"hasta 0 a los {STALE_DAYS} días.",
        f"Days since the current version was accepted: 100 up to {FRESH_DAYS} days, then falling linearly to "
        f"0 at {STALE_DAYS} days.",
        "Actualice el plan: el último cambio publicado es antiguo.",
        "Update the plan: the last published change is old.",
    ),
    MeasureSpec(
        "milestones_with_evidence",
        "completeness",
        "Hitos cumplidos con evidencia",
        "Completed milestones with evidence",
        "100 × hitos completados con al menos una evidencia ÷ hitos completados (no aplica sin hitos completados).",
        "100 × completed milestones with at least one piece of evidence ÷ completed milestones (not applicable "
        "without completed milestones).",
        "Agregue evidencia (acta, informe, enlace) a estos hitos completados.",
        "Add evidence (minutes, report, link) to these completed milestones.",
    ),
    MeasureSpec(
        "inputs_answered",
        "completeness",
        "Aportes ciudadanos con respuesta",
        "Citizen inputs answered",
        "100 × aportes con respuesta fundada ÷ aportes no retirados (no aplica sin aportes).",
        "100 × inputs with a reasoned response ÷ inputs not withdrawn (not applicable without inputs).",
        "Publique la respuesta fundada de la municipalidad a estos aportes.",
        "Publish the municipality's reasoned response to these inputs.",
    ),
    MeasureSpec(
        "core_fields",
        "completeness",
        "Campos opcionales clave",
        "Core optional fields",
        "100 × campos clave completos ÷ campos clave posibles. Campos clave: problema, resultados esperados, "
        "presupuesto y organización responsable del compromiso; descripción del hito; asistentes, desglose y "
        "acta de la actividad; pasos, recursos, licencia y contacto de la metodología; método y fuente del "
        "indicador.",
        "100 × core fields filled ÷ core fields possible. Core fields: a commitment's problem, expected "
        "results, budget and lead organisation; a milestone's description; an event's attendees, breakdown "
        "and minutes; a methodology's steps, resources, licence and contact; an indicator's method and source.",
        "Complete estos campos.",
        "Fill in these fields.",
    ),
    MeasureSpec(
        "findings",
        "validity",
        "Observaciones de validación",
        "Validation findings",
        f"Observaciones por cada 100 registros en las versiones vigentes durante los últimos 30 días: "
        f"100 − {WARNING_PENALTY:g} × advertencias − {ADVISORY_PENALTY:g} × sugerencias (mínimo 0).",
        f"Findings per 100 records in the versions in force during the last 30 days: 100 − "
        f"{WARNING_PENALTY:g} × warnings − {ADVISORY_PENALTY:g} × advisories (at least 0).",
        "Corrija estas observaciones del validador (ogp-federation feed validate las muestra).",
        "Fix these validator findings (ogp-federation feed validate shows them).",
    ),
    MeasureSpec(
        "versions_accepted",
        "validity",
        "Versiones aceptadas",
        "Versions accepted",
        "De las consultas de los últimos 30 días que trajeron una versión nueva, 100 × aceptadas ÷ esas "
        "consultas (las demás se rechazaron por inválidas o quedaron en cuarentena); no aplica si el nodo no "
        "ofreció versiones nuevas.",
        "Of the polls in the last 30 days that brought a new version, 100 × accepted ÷ those polls (the rest "
        "were rejected as invalid or quarantined); not applicable if the node offered no new version.",
        "Valide el plan antes de publicarlo: estas versiones fueron rechazadas.",
        "Validate the plan before publishing it: these versions were rejected.",
    ),
    MeasureSpec(
        "polls_succeeded",
        "availability",
        "Consultas exitosas",
        "Successful polls",
        "100 × consultas del agregador que el nodo respondió ÷ consultas de los últimos 30 días (fallan las "
        "caídas, los tiempos de espera, los errores HTTP y de firma).",
        "100 × the aggregator's polls the node answered ÷ polls in the last 30 days (outages, timeouts, HTTP "
        "and signature errors fail).",
        "Revise el servidor del nodo: estas consultas fallaron.",
        "Check the node's server: these polls failed.",
    ),
)


@dataclass(frozen=True)
class Facts:
    """What the service gathered for one commune on one day (lists hold the concrete gaps)."""

    day: date
    months_counted: int  # up to 12
    months_updated: int
    days_since_change: int | None
    milestones_completed: int
    milestones_without_evidence: Sequence[str]
    inputs_answerable: int
    inputs_unanswered: Sequence[str]
    core_slots: int
    core_missing: Sequence[str]  # "entity/id: field"
    records_seen: int  # records of the versions in force in the window, summed
    warnings: int
    advisories: int
    findings: Sequence[str]  # the current version's findings: "rule at path: message"
    versions_offered: int
    versions_rejected: Sequence[str]  # "date: reason"
    polls: int
    polls_failed: Sequence[str]  # "date: code"


@dataclass(frozen=True)
class Measure:
    """One measure's value (None: does not apply) and the raw figures behind it."""

    code: str
    value: float | None
    numerator: float | None
    denominator: float | None


@dataclass(frozen=True)
class Component:
    """A component's score (None: none of its measures applies) and its measures."""

    code: str
    weight: float
    value: float | None
    measures: list[Measure]


@dataclass(frozen=True)
class Gap:
    """What costs points: a measure below 100, its concrete items, and the overall points it costs."""

    measure: str
    points: float
    count: int
    items: list[str]


@dataclass(frozen=True)
class Score:
    """A commune's score on a day, by this methodology's version."""

    version: str
    day: date
    overall: float | None
    components: list[Component]
    gaps: list[Gap] = field(default_factory=list)


def _share(hits: float, total: float) -> float | None:
    return None if total <= 0 else 100.0 * hits / total


def _freshness(days: int | None) -> float | None:
    if days is None:
        return None
    if days <= FRESH_DAYS:
        return 100.0
    return max(0.0, 100.0 * (STALE_DAYS - days) / (STALE_DAYS - FRESH_DAYS))


def _findings(facts: Facts) -> float | None:
    if facts.records_seen <= 0:
        return None
    per_hundred = 100.0 / facts.records_seen
    penalty = WARNING_PENALTY * facts.warnings * per_hundred + ADVISORY_PENALTY * facts.advisories * per_hundred
    return max(0.0, 100.0 - penalty)


def _measures(facts: Facts) -> dict[str, tuple[Measure, Sequence[str]]]:
    """Each measure with the items that cost it points."""
    answered = facts.inputs_answerable - len(facts.inputs_unanswered)
    evidenced = facts.milestones_completed - len(facts.milestones_without_evidence)
    filled = facts.core_slots - len(facts.core_missing)
    accepted = facts.versions_offered - len(facts.versions_rejected)
    answered_polls = facts.polls - len(facts.polls_failed)
    stale: list[str] = []
    if facts.days_since_change is not None and facts.days_since_change > FRESH_DAYS:
        stale = [str(facts.days_since_change)]
    return {
        "months_updated": (
            Measure(
                "months_updated",
                _share(facts.months_updated, facts.months_counted),
                facts.months_updated,
                facts.months_counted,
            ),
            [],
        ),
        "days_since_change": (
            Measure("days_since_change", _freshness(facts.days_since_change), facts.days_since_change, None),
            stale,
        ),
        "milestones_with_evidence": (
            Measure(
                "milestones_with_evidence",
                _share(evidenced, facts.milestones_completed),
                evidenced,
                facts.milestones_completed,
            ),
            facts.milestones_without_evidence,
        ),
        "inputs_answered": (
            Measure("inputs_answered", _share(answered, facts.inputs_answerable), answered, facts.inputs_answerable),
            facts.inputs_unanswered,
        ),
        "core_fields": (
            Measure("core_fields", _share(filled, facts.core_slots), filled, facts.core_slots),
            facts.core_missing,
        ),
        "findings": (
            Measure("findings", _findings(facts), facts.warnings + facts.advisories, facts.records_seen),
            facts.findings,
        ),
        "versions_accepted": (
            Measure("versions_accepted", _share(accepted, facts.versions_offered), accepted, facts.versions_offered),
            facts.versions_rejected,
        ),
        "polls_succeeded": (
            Measure("polls_succeeded", _share(answered_polls, facts.polls), answered_polls, facts.polls),
            facts.polls_failed,
        ),
    }


def score(facts: Facts) -> Score:
    """Score one commune's facts by this version of the methodology."""
    measured = _measures(facts)
    components: list[Component] = []
    for code, (weight, _, _) in COMPONENTS.items():
        own = [measured[spec.code][0] for spec in MEASURES if spec.component == code]
        values = [m.value for m in own if m.value is not None]
        components.append(Component(code, weight, sum(values) / len(values) if values else None, own))
    applying = [c for c in components if c.value is not None]
    total_weight = sum(c.weight for c in applying)
    if not applying:
        return Score(VERSION, facts.day, None, components)
    overall = sum(c.weight * (c.value or 0.0) for c in applying) / total_weight
    gaps: list[Gap] = []
    for component in applying:
        counted = [(m, m.value) for m in component.measures if m.value is not None]
        for measure, value in counted:
            points = component.weight / total_weight / len(counted) * (100.0 - value)
            if points > 0:
                items = list(measured[measure.code][1])
                gaps.append(Gap(measure.code, round(points, 2), len(items), items[:MAX_ITEMS]))
    gaps.sort(key=lambda gap: (-gap.points, gap.measure))
    return Score(VERSION, facts.day, overall, components, gaps)
