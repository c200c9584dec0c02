"""Deterministic generator of synthetic, valid plan feeds for any commune and size (load tests).

The same ``(cut, commitments, seed, sequence)`` always yields the same bytes. About 10 KB of feed per
commitment; :func:`commitments_for_bytes` picks the count for a target size.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, timedelta

from .enums import (
    AssessmentKind,
    AssessmentStage,
    Completion,
    Direction,
    Entity,
    EventType,
    EvidenceKind,
    Frequency,
    Gender,
    IAP2Level,
    InputState,
    MilestoneStatus,
    Modality,
    ObservationStatus,
    OrganizationClassification,
    Pillar,
    PlanStatus,
    Programme,
)
from .model import (
    SPEC_VERSION,
    ActionPlan,
    Assessment,
    Breakdown,
    Commitment,
    Contact,
    Evidence,
    GenderCount,
    Identifier,
    Indicator,
    Input,
    Jurisdiction,
    Milestone,
    Observation,
    Organization,
    ParticipationEvent,
    PlanFeed,
    Population,
)
from .reference import CommuneReference

__all__ = ["BYTES_PER_COMMITMENT", "commitments_for_bytes", "generate_feed"]

BYTES_PER_COMMITMENT = 10_000
PLAN_START = date(2024, 1, 1)
PLAN_END = date(2025, 12, 31)
GENERATED_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
_TOPICS = (
    "gestión de residuos",
    "áreas verdes",
    "transparencia activa",
    "presupuesto participativo",
    "accesibilidad universal",
    "atención municipal",
    "datos abiertos",
    "seguridad vecinal",
    "salud primaria",
    "educación cívica",
    "movilidad sostenible",
    "cultura comunitaria",
)
_VERBS = ("Implementar", "Fortalecer", "Co-diseñar", "Publicar", "Ampliar", "Monitorear", "Digitalizar")
_WORDS = [
    "comunidad",
    "vecinos",
    "municipio",
    "participación",
    "datos",
    "plan",
    "compromiso",
    "barrio",
    "junta",
    "servicio",
    "mesa",
    "consulta",
    "registro",
    "portal",
    "informe",
    "calidad",
    "acceso",
    "inclusión",
    "territorio",
    "organizaciones",
    "ciudadanía",
]


def commitments_for_bytes(target_bytes: int) -> int:
    """How many commitments give a feed of roughly ``target_bytes``."""
    return max(1, round(target_bytes / BYTES_PER_COMMITMENT))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def _month_end(day: date) -> date:
    first_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next - timedelta(days=1)


def generate_feed(
    cut: str,
    *,
    commitments: int = 10,
    seed: int = 0,
    sequence: int = 1,
    reference: CommuneReference | None = None,
) -> PlanFeed:
    """A valid feed for commune ``cut`` with ``commitments`` commitments and everything around them."""
    commune = (reference or CommuneReference.packaged()).get(cut)
    if commune is None:
        raise ValueError(f"unknown CUT {cut!r}")
    rng = random.Random(f"{cut}:{seed}")  # Strings seed deterministically across runs and platforms.
    base = f"https://municipio-{cut}.example.cl"
    organizations = [
        Organization(
            id="dideco",
            name="Dirección de Desarrollo Comunitario",
            classification=OrganizationClassification.MUNICIPAL_UNIT,
        ),
        Organization(
            id="control-ga",
            name="Dirección de Control y Gobierno Abierto",
            classification=OrganizationClassification.MUNICIPAL_UNIT,
        ),
        Organization(
            id="foro",
            name="Foro Multiactor de Gobierno Abierto",
            classification=OrganizationClassification.MULTI_STAKEHOLDER_FORUM,
        ),
        Organization(
            id="monitoreo",
            name="Universidad regional (monitoreo)",
            classification=OrganizationClassification.MONITORING_BODY,
        ),
        Organization(
            id="cosoc",
            name="Consejo Comunal de Organizaciones de la Sociedad Civil",
            classification=OrganizationClassification.COSOC,
        ),
    ]
    plan = ActionPlan(
        id="plan-1",
        title=f"Plan de Acción de Gobierno Abierto de {commune.name} 2024-2025",
        programme=Programme.OGP_LOCAL,
        start=PLAN_START,
        end=PLAN_END,
        status=PlanStatus.IMPLEMENTATION,
        submitted_on=date(2023, 11, 30),
        lead_unit_id="control-ga",
        forum_id="foro",
        monitoring_body_id="monitoreo",
        repository_url=f"{base}/gobierno-abierto",
    )
    feed_commitments: list[Commitment] = []
    milestones: list[Milestone] = []
    events: list[ParticipationEvent] = []
    inputs: list[Input] = []
    indicators: list[Indicator] = []
    observations: list[Observation] = []
    assessments: list[Assessment] = []
    pillars = list(Pillar)
    for number in range(1, commitments + 1):
        cid = f"c{number}"
        topic = rng.choice(_TOPICS)
        progresses = [100.0, 100.0, float(rng.randint(1, 99)), 0.0]
        for position, progress in enumerate(progresses, start=1):
            status = (
                MilestoneStatus.COMPLETED
                if progress == 100
                else MilestoneStatus.NOT_STARTED
                if progress == 0
                else MilestoneStatus.IN_PROGRESS
            )
            due = PLAN_START + timedelta(days=150 * position + rng.randint(0, 30))
            evidence = []
            if status is MilestoneStatus.COMPLETED:
                url = f"{base}/evidencia/{cid}-{position}.pdf"
                evidence.append(
                    Evidence(
                        url=url,
                        kind=rng.choice(list(EvidenceKind)),
                        title=f"Evidencia hito {position}",
                        published_on=due,
                        sha256=hashlib.sha256(url.encode()).hexdigest(),
                    )
                )
            milestones.append(
                Milestone(
                    id=f"{cid}-h{position}",
                    commitment_id=cid,
                    title=f"Hito {position}: {_text(rng, 5)}",
                    description=_text(rng, 25),
                    due=due,
                    status=status,
                    progress=progress,
                    completed_on=due if status is MilestoneStatus.COMPLETED else None,
                    evidence=evidence,
                )
            )
        feed_commitments.append(
            Commitment(
                id=cid,
                plan_id=plan.id,
                title=f"{rng.choice(_VERBS)} {topic} ({number})",
                pillars=sorted(rng.sample(pillars, rng.randint(1, 3))),
                start=PLAN_START,
                end=PLAN_END,
                status=MilestoneStatus.IN_PROGRESS,
                progress=sum(progresses) / len(progresses),
                problem=_text(rng, 30),
                status_quo=_text(rng, 25),
                actions=_text(rng, 30),
                expected_results=_text(rng, 20),
                policy_area=topic,
                lead_organization_id="dideco",
                supporting_organization_ids=["cosoc"],
                budget_clp=rng.randint(1, 500) * 1_000_000,
            )
        )
        start = datetime(2024, 1, 1, 18, 30, tzinfo=UTC) + timedelta(days=rng.randint(0, 300))
        attendees = rng.randint(20, 200)
        female = rng.randint(0, attendees)
        events.append(
            ParticipationEvent(
                id=f"e{number}",
                type=rng.choice(list(EventType)),
                title=f"Taller de {topic}",
                modality=rng.choice(list(Modality)),
                start=start,
                end=start + timedelta(hours=2),
                iap2_level=rng.choice(list(IAP2Level)),
                attendees=attendees,
                breakdown=Breakdown(
                    gender=[
                        GenderCount(gender=Gender.FEMALE, count=female),
                        GenderCount(gender=Gender.MALE, count=attendees - female),
                    ]
                ),
                organization_ids=["foro"],
                minutes_url=f"{base}/actas/e{number}.pdf",
                commitment_ids=[cid],
            )
        )
        for position in range(1, 4):
            state = rng.choice([InputState.ACCEPTED, InputState.PARTIALLY_ACCEPTED, InputState.REJECTED])
            inputs.append(
                Input(
                    id=f"e{number}-a{position}",
                    event_id=f"e{number}",
                    summary=_text(rng, 18),
                    state=state,
                    reasoned_response=_text(rng, 25),
                    answered_on=start.date() + timedelta(days=30),
                    commitment_ids=[cid],
                )
            )
        code = f"IND-{number}"
        indicators.append(
            Indicator(
                code=code,
                name=f"Avance en {topic}",
                unit="%",
                direction=Direction.HIGHER_BETTER,
                pillar=rng.choice(pillars),
                frequency=Frequency.MONTHLY,
                method=_text(rng, 12),
                source="Registro municipal",
                commitment_ids=[cid],
            )
        )
        month = PLAN_START
        value = rng.uniform(10, 40)
        while month <= PLAN_END:
            value = min(100.0, value + rng.uniform(0, 4))
            observations.append(
                Observation(
                    id=f"{code}-{month:%Y-%m}",
                    indicator_code=code,
                    period_start=month,
                    period_end=_month_end(month),
                    value=round(value, 2),
                    status=ObservationStatus.FINAL,
                )
            )
            month = _month_end(month) + timedelta(days=1)
        assessments.append(
            Assessment(
                id=f"ev-{cid}",
                kind=AssessmentKind.SELF,
                target_entity=Entity.COMMITMENTS,
                target_id=cid,
                stage=AssessmentStage.MIDTERM,
                assessor="Dirección de Control y Gobierno Abierto",
                assessed_on=date(2025, 1, 15),
                completion=Completion.SUBSTANTIAL,
                narrative=_text(rng, 30),
            )
        )
    return PlanFeed(
        spec_version=SPEC_VERSION,
        generated_at=GENERATED_AT + timedelta(minutes=sequence),
        sequence=sequence,
        publisher=Jurisdiction(
            cut=cut,
            name=commune.name,
            region_cut=commune.region_cut,
            province_cut=commune.province_cut,
            identifiers=[Identifier(scheme="CL-CUT", id=cut)],
            population=Population(value=rng.randint(1_000, 600_000), year=2024, source="INE (sintético)"),
            subdere_group=rng.randint(1, 5),
        ),
        license="CC-BY-4.0",
        contact=Contact(name="Gobierno Abierto", email=f"gobiernoabierto@{cut}.example.cl"),
        organizations=organizations,
        action_plans=[plan],
        commitments=feed_commitments,
        milestones=milestones,
        assessments=assessments,
        participation_events=events,
        inputs=inputs,
        indicators=indicators,
        observations=observations,
    )
