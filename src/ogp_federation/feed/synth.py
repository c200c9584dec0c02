"""Deterministic generator of synthetic, valid plan feeds for any commune and size (demo, load tests).

The same ``(cut, commitments, seed, sequence)`` always yields the same bytes. About 10 KB of feed per
commitment; :func:`commitments_for_bytes` picks the count for a target size.

Every feed says it is synthetic (``synthetic: true``, Plan Feed 1.1) and so does its text. Its values are
plausible and differ between communes the way they do in a real federation: each commune draws a
*profile* — population (log-normal, larger in the Metropolitan region), the SUBDERE group that follows
from it, and a capacity between 0 and 1 that drives how many milestones are completed on time and with
evidence, how many inputs are answered and how fast, and how the IRM rates its commitments — so the
comparisons over 346 synthetic communes show spread, skew and outliers rather than one flat value.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
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
    OpenGovernmentEffect,
    OrganizationClassification,
    Pillar,
    PlanStatus,
    Programme,
)
from .model import (
    SPEC_VERSION,
    ActionPlan,
    AdoptedFrom,
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
    Methodology,
    Milestone,
    Observation,
    Organization,
    ParticipationEvent,
    PlanFeed,
    Population,
    Resource,
)
from .reference import CommuneReference
from .synth_texts import TOPICS, Topic

__all__ = ["BYTES_PER_COMMITMENT", "Profile", "commitments_for_bytes", "generate_feed"]

BYTES_PER_COMMITMENT = 10_000
PLAN_START = date(2024, 1, 1)
PLAN_END = date(2026, 12, 31)
LAST_OBSERVED = date(2025, 12, 1)  # the last month reported before the feed's date
GENERATED_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TODAY = GENERATED_AT.date()
SYNTHETIC = "(sintético)"
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


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


@dataclass(frozen=True)
class Profile:
    """What makes one synthetic commune unlike another (drawn once per commune and seed)."""

    population: int
    subdere_group: int
    capacity: float  # 0–1: drives completion, timeliness, evidence, answers, IRM ratings
    participation: float  # attendance per 1,000 inhabitants per event, before noise
    women: float  # women's share of attendance
    remote: float  # share of events online or hybrid
    answer_days: float  # median days to answer an input

    @staticmethod
    def draw(rng: random.Random, region_cut: str) -> Profile:
        """A plausible commune: most are small, a few very large; capacity grows with size, with noise."""
        median = 60_000 if region_cut == "13" else 15_000
        population = int(_clip(rng.lognormvariate(math.log(median), 1.1), 150, 650_000))
        group = 1 if population > 150_000 else 2 if population > 60_000 else 3 if population > 25_000 else 4
        if group == 4 and population < 8_000:
            group = 5
        size = (5 - group) / 4  # 1 for the largest communes, 0 for the smallest
        capacity = _clip(rng.betavariate(2.2, 2.2) * 0.75 + 0.25 * size + rng.gauss(0, 0.05), 0.03, 0.98)
        return Profile(
            population=population,
            subdere_group=group,
            capacity=capacity,
            participation=_clip(rng.lognormvariate(math.log(0.6), 0.8), 0.02, 40.0),
            women=_clip(rng.gauss(0.56, 0.06), 0.3, 0.8),
            remote=_clip(rng.betavariate(1.5, 2.5) + 0.2 * size, 0.0, 0.95),
            answer_days=_clip(rng.lognormvariate(math.log(25 + 40 * (1 - capacity)), 0.35), 5, 180),
        )


def _milestone(  # noqa: PLR0917 (one synthetic milestone from its parts)
    rng: random.Random, profile: Profile, cid: str, position: int, due: date, base: str, title: str
) -> Milestone:
    """One milestone whose fate follows the commune's capacity: done on time, late, overdue or cancelled."""
    c = profile.capacity
    roll = rng.random()
    completed_on: date | None = None
    evidence: list[Evidence] = []
    if roll < 0.02:
        status, progress = MilestoneStatus.CANCELLED, float(rng.randint(0, 60))
    elif due <= TODAY and roll < 0.35 + 0.6 * c:
        late = 0 if rng.random() < 0.25 + 0.7 * c else round(rng.expovariate(1 / (8 + 50 * (1 - c))))
        completed_on = min(due + timedelta(days=late), TODAY)
        status, progress = MilestoneStatus.COMPLETED, 100.0
        if rng.random() < 0.35 + 0.65 * c:
            url = f"{base}/evidencia/{cid}-{position}.pdf"
            evidence.append(
                Evidence(
                    url=url,
                    kind=rng.choice(list(EvidenceKind)),
                    title=f"Evidencia hito {position} {SYNTHETIC}",
                    published_on=completed_on,
                    sha256=hashlib.sha256(url.encode()).hexdigest(),
                )
            )
    elif due <= TODAY:
        status, progress = MilestoneStatus.DELAYED, float(rng.randint(5, 90))
    elif rng.random() < 0.5:
        status, progress = MilestoneStatus.IN_PROGRESS, float(rng.randint(1, 95))
    else:
        status, progress = MilestoneStatus.NOT_STARTED, 0.0
    return Milestone(
        id=f"{cid}-h{position}",
        commitment_id=cid,
        title=f"{title} {SYNTHETIC}",
        description=_text(rng, 25),
        due=due,
        status=status,
        progress=progress,
        completed_on=completed_on,
        evidence=evidence,
    )


def _commitment_status(progress: float) -> MilestoneStatus:
    if progress >= 100:
        return MilestoneStatus.COMPLETED
    return MilestoneStatus.NOT_STARTED if progress == 0 else MilestoneStatus.IN_PROGRESS


def _event(  # noqa: PLR0917 (one synthetic event from its parts)
    rng: random.Random,
    profile: Profile,
    eid: str,
    kind: EventType,
    title: str,
    start: datetime,
    commitment_ids: list[str],
    base: str,
) -> ParticipationEvent:
    scale = 0.3 if kind is EventType.FORUM_SESSION else 1.0
    expected = profile.population / 1000 * profile.participation * scale
    attendees = int(_clip(rng.lognormvariate(math.log(max(expected, 1.0)), 0.5), 8, 60_000))
    female = round(attendees * _clip(rng.gauss(profile.women, 0.05), 0.05, 0.95))
    remote = rng.random() < profile.remote
    return ParticipationEvent(
        id=eid,
        type=kind,
        title=f"{title} {SYNTHETIC}",
        modality=(rng.choice((Modality.ONLINE, Modality.HYBRID)) if remote else Modality.IN_PERSON),
        start=start,
        end=start + timedelta(hours=2),
        iap2_level=list(IAP2Level)[min(4, int(rng.triangular(0, 5, 1 + 3 * profile.capacity)))],
        attendees=attendees,
        breakdown=Breakdown(
            gender=[
                GenderCount(gender=Gender.FEMALE, count=female),
                GenderCount(gender=Gender.MALE, count=attendees - female),
            ]
        ),
        organization_ids=["foro"],
        minutes_url=f"{base}/actas/{eid}.pdf" if rng.random() < 0.4 + 0.6 * profile.capacity else None,
        commitment_ids=commitment_ids,
    )


def _input(rng: random.Random, profile: Profile, event: ParticipationEvent, iid: str, cid: str) -> Input:
    """A citizen input: decided and answered as often and as fast as the commune's capacity allows."""
    c = profile.capacity
    answered_on = event.end.date() + timedelta(days=round(rng.lognormvariate(math.log(profile.answer_days), 0.4)))
    if rng.random() < 0.03:
        return Input(id=iid, event_id=event.id, summary=_text(rng, 18), state=InputState.WITHDRAWN)
    if answered_on > TODAY or rng.random() > 0.4 + 0.58 * c:
        return Input(id=iid, event_id=event.id, summary=_text(rng, 18), state=InputState.EVALUATING)
    taken = rng.random()
    state = (
        InputState.ACCEPTED
        if taken < 0.2 + 0.35 * c
        else InputState.PARTIALLY_ACCEPTED
        if taken < 0.45 + 0.3 * c
        else InputState.REJECTED
    )
    return Input(
        id=iid,
        event_id=event.id,
        summary=_text(rng, 18),
        state=state,
        reasoned_response=_text(rng, 25),
        answered_on=answered_on,
        commitment_ids=[cid],
    )


def _irm(rng: random.Random, profile: Profile, commitment: Commitment) -> Assessment:
    """The IRM's rating of one commitment: completion follows its progress, openness the capacity."""
    completion = (
        Completion.COMPLETE
        if commitment.progress >= 90
        else Completion.SUBSTANTIAL
        if commitment.progress >= 60
        else Completion.LIMITED
        if commitment.progress > 0
        else Completion.NOT_STARTED
    )
    effects = list(OpenGovernmentEffect)
    effect = effects[min(4, max(1, int(rng.triangular(1, 5, 1 + 3.5 * profile.capacity))))]
    return Assessment(
        id=f"irm-{commitment.id}",
        kind=AssessmentKind.INDEPENDENT,
        target_entity=Entity.COMMITMENTS,
        target_id=commitment.id,
        stage=AssessmentStage.MIDTERM,
        assessor=f"Mecanismo de Revisión Independiente {SYNTHETIC}",
        assessed_on=date(2025, 12, 20),
        completion=completion,
        did_it_open_government=effect,
        narrative=_text(rng, 30),
    )


def _published(rng: random.Random, profile: Profile) -> tuple[list[Indicator], list[Observation]]:
    """The commune's own annual figures for the published catalogue indicators, mapped to them (1.1)."""
    c = profile.capacity
    series = {
        "transparencia_activa": ("TA", "%", Direction.HIGHER_BETTER, _clip(rng.gauss(55 + 42 * c, 8), 5, 100)),
        "sai_en_plazo": ("SAI-PLAZO", "%", Direction.HIGHER_BETTER, _clip(rng.gauss(60 + 38 * c, 7), 10, 100)),
        "sai_dias_mediana": ("SAI-DIAS", "días", Direction.LOWER_BETTER, _clip(rng.gauss(19 - 10 * c, 3), 2, 40)),
    }
    indicators, observations = [], []
    for catalogue_code, (suffix, unit, direction, level) in series.items():
        code = f"PUB-{suffix}"
        indicators.append(
            Indicator(
                code=code,
                name=f"{catalogue_code.replace('_', ' ').capitalize()} {SYNTHETIC}",
                unit=unit,
                direction=direction,
                pillar=Pillar.TRANSPARENCY_ACCESS_INFORMATION,
                frequency=Frequency.ANNUAL,
                method=_text(rng, 12),
                source="Portal de Transparencia (sintético)",
                catalogue_code=catalogue_code,
            )
        )
        for year in (2024, 2025):
            value = level + rng.gauss(2 if direction is Direction.HIGHER_BETTER else -1, 2) * (year - 2024)
            observations.append(
                Observation(
                    id=f"{code}-{year}",
                    indicator_code=code,
                    period_start=date(year, 1, 1),
                    period_end=date(year, 12, 31),
                    value=round(_clip(value, 0, 100 if unit == "%" else 60), 1),
                    status=ObservationStatus.FINAL,
                )
            )
    return indicators, observations


# Methodologies of the first Chilean cases that synthetic communes adopt (verified once those are harvested).
_ADOPTED = {
    "clima": AdoptedFrom(cut="13122", id="mesas-territoriales"),
    "presupuesto": AdoptedFrom(cut="13119", id="mesas-verdes-maipu"),
}


def _methodologies(rng: random.Random, profile: Profile, subjects: list[Topic], cut: str) -> list[Methodology]:
    """The methodologies a commune shares: more where capacity is higher; some adopted from the pioneers."""
    out: list[Methodology] = []
    for subject in dict.fromkeys(subjects):  # each topic once, in the order the plan takes them up
        if len(out) >= 2 or rng.random() > 0.25 + 0.5 * profile.capacity:
            continue
        title, summary, steps = subject.methodology
        adopted = _ADOPTED.get(subject.key)
        out.append(
            Methodology(
                id=f"met-{subject.key}",
                title=f"{title} {SYNTHETIC}",
                pillars=sorted(subject.pillars),
                summary=summary,
                problem=subject.problems[0],
                steps=list(steps),
                resources=(
                    [Resource(url=f"https://municipio-{cut}.example.cl/metodologias/{subject.key}.pdf", title=title)]
                    if rng.random() < 0.3 + 0.6 * profile.capacity
                    else []
                ),
                license="CC-BY-4.0",
                contact=Contact(name=f"Gobierno Abierto {SYNTHETIC}", email=f"metodologias@{cut}.example.cl"),
                adopted_from=[adopted] if adopted is not None and adopted.cut != cut and rng.random() < 0.5 else [],
            )
        )
    return out


def generate_feed(
    cut: str,
    *,
    commitments: int = 10,
    seed: int = 0,
    sequence: int = 1,
    reference: CommuneReference | None = None,
) -> PlanFeed:
    """A valid synthetic feed for commune ``cut`` with ``commitments`` commitments and everything around them."""
    commune = (reference or CommuneReference.packaged()).get(cut)
    if commune is None:
        raise ValueError(f"unknown CUT {cut!r}")
    rng = random.Random(f"{cut}:{seed}")  # Strings seed deterministically across runs and platforms.
    profile = Profile.draw(random.Random(f"profile:{cut}"), commune.region_cut)  # the same commune across seeds
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
        title=f"Plan de Acción de Gobierno Abierto de {commune.name} 2024-2026 {SYNTHETIC}",
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
    subjects: list[Topic] = []
    for number in range(1, commitments + 1):
        cid = f"c{number}"
        subject = rng.choice(TOPICS)
        subjects.append(subject)
        steps = [*subject.milestones, "Evaluación final con la comunidad"]
        own = [
            _milestone(
                rng,
                profile,
                cid,
                position,
                PLAN_START + timedelta(days=200 * position + rng.randint(0, 60)),
                base,
                steps[position - 1],
            )
            for position in range(1, 5)
        ]
        milestones += own
        progress = round(sum(m.progress for m in own) / len(own), 1)
        commitment = Commitment(
            id=cid,
            plan_id=plan.id,
            title=f"{rng.choice(subject.titles)} {SYNTHETIC}",
            pillars=sorted(subject.pillars),
            start=PLAN_START,
            end=PLAN_END,
            status=_commitment_status(progress),
            progress=progress,
            problem=rng.choice(subject.problems),
            status_quo=_text(rng, 25),
            actions=subject.actions[0],
            expected_results=f"{subject.milestones[-1]}; avances publicados cada trimestre.",
            policy_area=subject.area,
            lead_organization_id="dideco",
            supporting_organization_ids=["cosoc"],
            budget_clp=rng.randint(1, 500) * 1_000_000 if rng.random() < 0.3 + 0.6 * profile.capacity else None,
        )
        feed_commitments.append(commitment)
        start = datetime(2024, 1, 1, 18, 30, tzinfo=UTC) + timedelta(days=rng.randint(0, 700))
        kind = rng.choice([k for k in EventType if k is not EventType.FORUM_SESSION])
        event = _event(rng, profile, f"e{number}", kind, f"Taller de {subject.area}", start, [cid], base)
        events.append(event)
        inputs += [_input(rng, profile, event, f"e{number}-a{position}", cid) for position in range(1, 4)]
        code = f"IND-{number}"
        indicators.append(
            Indicator(
                code=code,
                name=f"Avance en {subject.area}",
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
        while month <= LAST_OBSERVED:
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
        if rng.random() < 0.3 + 0.6 * profile.capacity:
            assessments.append(_irm(rng, profile, commitment))
    forum_ids = [c.id for c in feed_commitments[:20]]  # a session reviews the plan (a few of its commitments)
    for year in (2024, 2025):  # the multi-stakeholder forum meets more often where capacity is higher
        for session in range(min(4, 1 + round(3 * profile.capacity * rng.random() + profile.capacity))):
            start = datetime(year, 2 + 3 * session, 10, 21, 0, tzinfo=UTC) + timedelta(days=rng.randint(0, 20))
            eid = f"foro-{year}-{session + 1}"
            events.append(
                _event(rng, profile, eid, EventType.FORUM_SESSION, "Sesión del foro multiactor", start, forum_ids, base)
            )
    published, values = _published(rng, profile)
    methodologies = _methodologies(rng, profile, subjects, cut)
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
            population=Population(value=profile.population, year=2024, source="INE (sintético)"),
            subdere_group=profile.subdere_group,
        ),
        license="CC-BY-4.0",
        contact=Contact(name=f"Gobierno Abierto {SYNTHETIC}", email=f"gobiernoabierto@{cut}.example.cl"),
        synthetic=True,
        organizations=organizations,
        action_plans=[plan],
        commitments=feed_commitments,
        milestones=milestones,
        assessments=assessments,
        participation_events=events,
        inputs=inputs,
        indicators=[*indicators, *published],
        observations=[*observations, *values],
        methodologies=methodologies,
    )
