"""Typed structures of Plan Feed v1.

These classes *are* the standard: the JSON Schema (``plan-feed-v1.schema.json``) and the field reference
(``docs/feed-reference.md``) are generated from them, and decoding a document into :class:`PlanFeed` is
the schema layer's fast path. Every field carries its description.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from .catalogue import CATALOGUE_CODE
from .enums import (
    AgeBand,
    AssessmentKind,
    AssessmentStage,
    CommitmentStatus,
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
    PotentialImpact,
    Programme,
)

__all__ = [
    "MAX_SEQUENCE",
    "SPEC_VERSION",
    "ActionPlan",
    "AdoptedFrom",
    "AgeCount",
    "Assessment",
    "Breakdown",
    "Commitment",
    "Contact",
    "Evidence",
    "GenderCount",
    "Identifier",
    "Indicator",
    "Input",
    "Jurisdiction",
    "Methodology",
    "Milestone",
    "Observation",
    "Organization",
    "ParticipationEvent",
    "PlanFeed",
    "Population",
    "Resource",
    "Tombstone",
]

SPEC_VERSION = "1.1"  # 1.1: indicators may name a catalogue indicator (catalogue_code); 1.0 feeds stay valid
MAX_SEQUENCE = 2**53  # the largest integer every JSON reader keeps exactly (a millisecond clock fits)

# Shared constrained types. Limits are generous for real plans and stop hostile documents early.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]*\Z"
RecordId = Annotated[str, Meta(min_length=1, max_length=128, pattern=ID_PATTERN)]
Cut = Annotated[str, Meta(pattern=r"^[0-9]{5}\Z", description="Código Único Territorial of a commune.")]
Url = Annotated[str, Meta(min_length=8, max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f]+\Z")]
EMAIL_PATTERN = r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+\Z"
Name = Annotated[str, Meta(min_length=1, max_length=300)]
Text = Annotated[str, Meta(min_length=1, max_length=20_000)]
Percent = Annotated[float, Meta(ge=0, le=100)]
Value = Annotated[float, Meta(ge=-1e15, le=1e15)]
Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}\Z")]
Count = Annotated[int, Meta(ge=0, le=10_000_000)]
Many = Meta(max_length=1_000_000)


class _Record(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """Base of all feed structures: keyword-only, strict about unknown fields, compact on output.

    ``gc=False``: a feed is a tree decoded from JSON (it never holds a reference cycle), so its many small
    structs need not be tracked by the garbage collector — a harvest holding hundreds of feeds spent a
    third of its time in collections otherwise.
    """


class Identifier(_Record):
    """An identifier of the jurisdiction in another scheme (e.g. CL-CUT, wikidata)."""

    scheme: Annotated[str, Meta(min_length=1, max_length=64, description="Identifier scheme.")]
    id: Annotated[str, Meta(min_length=1, max_length=128, description="Identifier within the scheme.")]


class Population(_Record):
    """Resident population with the year it refers to."""

    value: Annotated[int, Meta(ge=0, le=100_000_000, description="Number of inhabitants.")]
    year: Annotated[int, Meta(ge=1900, le=2200, description="Reference year of the figure.")]
    source: Annotated[Annotated[str, Meta(max_length=300)] | None, Meta(description="Where the figure comes from.")] = (
        None
    )


class Jurisdiction(_Record):
    """The commune that publishes the feed."""

    cut: Annotated[Cut, Meta(description="5-digit official commune code (CUT), e.g. 13122 for Peñalolén.")]
    name: Annotated[Name, Meta(description="Official commune name.")]
    region_cut: Annotated[str, Meta(pattern=r"^[0-9]{2}\Z", description="2-digit region code.")]
    province_cut: Annotated[str, Meta(pattern=r"^[0-9]{3}\Z", description="3-digit province code.")]
    identifiers: Annotated[list[Identifier], Meta(max_length=50, description="Identifiers in other schemes.")] = []
    population: Annotated[Population | None, Meta(description="Population, used to form peer groups.")] = None
    subdere_group: Annotated[
        Annotated[int, Meta(ge=1, le=5)] | None, Meta(description="SUBDERE communal typology group (1-5).")
    ] = None


class Contact(_Record):
    """Who answers questions about the feed."""

    name: Annotated[Name, Meta(description="Person or office.")]
    email: Annotated[
        Annotated[str, Meta(max_length=254, pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+\Z")] | None,
        Meta(description="E-mail."),
    ] = None
    url: Annotated[Url | None, Meta(description="Contact web page.")] = None
    phone: Annotated[Annotated[str, Meta(max_length=40)] | None, Meta(description="Phone number.")] = None


class Organization(_Record):
    """A municipal unit, forum, monitoring body or partner taking part in the plan."""

    id: Annotated[RecordId, Meta(description="Identifier, unique among organizations.")]
    name: Annotated[Name, Meta(description="Name.")]
    classification: Annotated[OrganizationClassification, Meta(description="Kind of body.")]
    parent_id: Annotated[RecordId | None, Meta(description="Organization this one belongs to.")] = None
    url: Annotated[Url | None, Meta(description="Web page.")] = None


class ActionPlan(_Record):
    """An Open Government action plan."""

    id: Annotated[RecordId, Meta(description="Identifier, unique among action plans.")]
    title: Annotated[Name, Meta(description="Title.")]
    programme: Annotated[Programme, Meta(description="Programme the plan belongs to.")]
    start: Annotated[date, Meta(description="First day of implementation.")]
    end: Annotated[date, Meta(description="Last day of implementation.")]
    status: Annotated[PlanStatus, Meta(description="Life-cycle stage.")]
    submitted_on: Annotated[date | None, Meta(description="Date submitted to the programme.")] = None
    lead_unit_id: Annotated[RecordId | None, Meta(description="Organization leading the plan.")] = None
    forum_id: Annotated[
        RecordId | None, Meta(description="Multi-stakeholder forum (organization) overseeing the plan.")
    ] = None
    monitoring_body_id: Annotated[RecordId | None, Meta(description="External monitoring body (organization).")] = None
    repository_url: Annotated[Url | None, Meta(description="Where the plan's documents are kept.")] = None
    description: Annotated[Text | None, Meta(description="Summary of the plan.")] = None


class Commitment(_Record):
    """A commitment co-created with the community; it may group child commitments."""

    id: Annotated[RecordId, Meta(description="Identifier, unique among commitments.")]
    plan_id: Annotated[RecordId, Meta(description="Action plan the commitment belongs to.")]
    title: Annotated[Name, Meta(description="Title.")]
    pillars: Annotated[list[Pillar], Meta(min_length=1, max_length=4, description="Open Government pillars it serves.")]
    start: Annotated[date, Meta(description="Planned start.")]
    end: Annotated[date, Meta(description="Planned end.")]
    status: Annotated[CommitmentStatus, Meta(description="Implementation status.")]
    progress: Annotated[Percent, Meta(description="Progress 0-100; for a parent, the weighted mean.")]
    problem: Annotated[Text | None, Meta(description="Problem the commitment addresses.")] = None
    status_quo: Annotated[Text | None, Meta(description="Situation before the commitment.")] = None
    actions: Annotated[Text | None, Meta(description="What will be done.")] = None
    expected_results: Annotated[Text | None, Meta(description="Results expected.")] = None
    policy_area: Annotated[Name | None, Meta(description="Policy area (e.g. medio ambiente).")] = None
    lead_organization_id: Annotated[RecordId | None, Meta(description="Organization in charge.")] = None
    supporting_organization_ids: Annotated[
        list[RecordId], Meta(max_length=100, description="Organizations supporting it.")
    ] = []
    budget_clp: Annotated[
        Annotated[int, Meta(ge=0, le=10**13)] | None, Meta(description="Budget in Chilean pesos (CLP).")
    ] = None
    parent_id: Annotated[RecordId | None, Meta(description="Parent commitment.")] = None
    weight: Annotated[
        Annotated[float, Meta(gt=0, le=1000)] | None, Meta(description="Weight of this child in its parent's progress.")
    ] = None


class Evidence(_Record):
    """A public document proving a milestone's progress."""

    url: Annotated[Url, Meta(description="Where the document is published.")]
    kind: Annotated[EvidenceKind, Meta(description="Kind of document.")]
    title: Annotated[Name, Meta(description="Title.")]
    published_on: Annotated[date | None, Meta(description="Date of the document.")] = None
    sha256: Annotated[Sha256 | None, Meta(description="SHA-256 of the document's bytes (hex).")] = None


class Milestone(_Record):
    """A mandatory milestone (hito) of a commitment."""

    id: Annotated[RecordId, Meta(description="Identifier, unique among milestones.")]
    commitment_id: Annotated[RecordId, Meta(description="Commitment the milestone belongs to.")]
    title: Annotated[Name, Meta(description="Title.")]
    due: Annotated[date, Meta(description="Due date.")]
    status: Annotated[MilestoneStatus, Meta(description="Implementation status.")]
    progress: Annotated[Percent, Meta(description="Progress 0-100.")]
    description: Annotated[Text | None, Meta(description="What the milestone delivers.")] = None
    completed_on: Annotated[date | None, Meta(description="Completion date; required when completed.")] = None
    evidence: Annotated[list[Evidence], Meta(max_length=500, description="Evidence documents.")] = []
    outside_span_reason: Annotated[
        Text | None,
        Meta(description="Why the due date falls outside its commitment's span (flags the exception)."),
    ] = None


class Assessment(_Record):
    """A self or independent (OGP IRM) assessment of a plan, commitment or milestone."""

    id: Annotated[RecordId, Meta(description="Identifier, unique among assessments.")]
    kind: Annotated[AssessmentKind, Meta(description="Self or independent assessment.")]
    target_entity: Annotated[Entity, Meta(description="Collection of the assessed record.")]
    target_id: Annotated[RecordId, Meta(description="Identifier of the assessed record.")]
    stage: Annotated[AssessmentStage, Meta(description="Stage of the plan cycle.")]
    assessor: Annotated[Name, Meta(description="Who assessed (person or body).")]
    assessed_on: Annotated[date, Meta(description="Date of the assessment.")]
    completion: Annotated[Completion | None, Meta(description="OGP IRM completion.")] = None
    did_it_open_government: Annotated[
        OpenGovernmentEffect | None, Meta(description="OGP IRM 'did it open government?'.")
    ] = None
    potential_impact: Annotated[PotentialImpact | None, Meta(description="OGP IRM potential impact.")] = None
    narrative: Annotated[Text | None, Meta(description="Assessment text.")] = None
    url: Annotated[Url | None, Meta(description="Published report.")] = None


class GenderCount(_Record):
    """Attendees of one gender."""

    gender: Annotated[Gender, Meta(description="Gender category.")]
    count: Annotated[Count, Meta(description="Number of attendees.")]


class AgeCount(_Record):
    """Attendees of one age band."""

    band: Annotated[AgeBand, Meta(description="Age band.")]
    count: Annotated[Count, Meta(description="Number of attendees.")]


class Breakdown(_Record):
    """Attendance broken down by gender and by age band."""

    gender: Annotated[list[GenderCount], Meta(max_length=10, description="Counts by gender.")] = []
    age: Annotated[list[AgeCount], Meta(max_length=10, description="Counts by age band.")] = []


class ParticipationEvent(_Record):
    """A participation event: forum session, workshop, consultation, cabildo, cuenta pública…."""

    id: Annotated[RecordId, Meta(description="Identifier, unique among participation events.")]
    type: Annotated[EventType, Meta(description="Kind of event.")]
    title: Annotated[Name, Meta(description="Title.")]
    modality: Annotated[Modality, Meta(description="In person, online or hybrid.")]
    start: Annotated[datetime, Meta(tz=True, description="Start (RFC 3339 with offset).")]
    end: Annotated[datetime, Meta(tz=True, description="End (RFC 3339 with offset).")]
    iap2_level: Annotated[IAP2Level, Meta(description="Level of the IAP2 participation spectrum.")]
    attendees: Annotated[Count | None, Meta(description="Number of attendees.")] = None
    breakdown: Annotated[Breakdown | None, Meta(description="Attendance breakdown.")] = None
    location: Annotated[Name | None, Meta(description="Place or platform.")] = None
    organization_ids: Annotated[list[RecordId], Meta(max_length=100, description="Organizations that took part.")] = []
    minutes_url: Annotated[Url | None, Meta(description="Published minutes (acta).")] = None
    commitment_ids: Annotated[list[RecordId], Meta(max_length=500, description="Related commitments.")] = []
    description: Annotated[Text | None, Meta(description="What happened.")] = None


class Input(_Record):
    """A citizen proposal and what the commune did with it (accountability)."""

    id: Annotated[RecordId, Meta(description="Identifier, unique among inputs.")]
    event_id: Annotated[RecordId, Meta(description="Participation event where it was received.")]
    summary: Annotated[Text, Meta(description="What was proposed.")]
    state: Annotated[InputState, Meta(description="What was done with it.")]
    reasoned_response: Annotated[Text | None, Meta(description="The commune's reasoned answer.")] = None
    answered_on: Annotated[date | None, Meta(description="Date of the answer.")] = None
    commitment_ids: Annotated[list[RecordId], Meta(max_length=100, description="Commitments it shaped.")] = []


class Indicator(_Record):
    """Definition of an indicator observed over time."""

    code: Annotated[RecordId, Meta(description="Code, unique among indicators; observations refer to it.")]
    name: Annotated[Name, Meta(description="Name.")]
    unit: Annotated[str, Meta(min_length=1, max_length=40, description="Unit (e.g. %, días, personas).")]
    direction: Annotated[Direction, Meta(description="How to read values when comparing.")]
    pillar: Annotated[Pillar, Meta(description="Pillar the indicator measures.")]
    frequency: Annotated[Frequency, Meta(description="How often it is observed.")]
    method: Annotated[Text | None, Meta(description="Formula or method of calculation.")] = None
    source: Annotated[Name | None, Meta(description="Source of the data.")] = None
    target_min: Annotated[Value | None, Meta(description="Lower bound of the target range.")] = None
    target_max: Annotated[Value | None, Meta(description="Upper bound of the target range.")] = None
    commitment_ids: Annotated[list[RecordId], Meta(max_length=100, description="Commitments it tracks.")] = []
    catalogue_code: Annotated[
        Annotated[str, Meta(pattern=CATALOGUE_CODE)] | None,
        Meta(
            description="Since 1.1: the federation catalogue indicator it measures (docs/indicadores.md); "
            "its observations then enter the comparisons."
        ),
    ] = None


class Observation(_Record):
    """One value of an indicator for a period."""

    id: Annotated[RecordId, Meta(description="Identifier, unique among observations.")]
    indicator_code: Annotated[RecordId, Meta(description="Code of the indicator observed.")]
    period_start: Annotated[date, Meta(description="First day of the period.")]
    period_end: Annotated[date, Meta(description="Last day of the period.")]
    value: Annotated[Value, Meta(description="Observed value (|value| ≤ 10^15).")]
    status: Annotated[ObservationStatus, Meta(description="Provisional or final.")]
    unit: Annotated[
        Annotated[str, Meta(min_length=1, max_length=40)] | None, Meta(description="Unit; if given, the indicator's.")
    ] = None
    source_url: Annotated[Url | None, Meta(description="Where the value is published.")] = None
    note: Annotated[Text | None, Meta(description="Remarks.")] = None


class Resource(_Record):
    """A document or tool of a methodology."""

    url: Annotated[Url, Meta(description="Where it is published.")]
    title: Annotated[Name, Meta(description="Title.")]


class AdoptedFrom(_Record):
    """Reference to another commune's methodology this one builds on."""

    cut: Annotated[Cut, Meta(description="CUT of the commune that published it.")]
    id: Annotated[RecordId, Meta(description="Identifier of its methodology in that commune's feed.")]


class Methodology(_Record):
    """A reusable way of doing Open Government work, shared with other communes."""

    id: Annotated[RecordId, Meta(description="Identifier, unique among methodologies.")]
    title: Annotated[Name, Meta(description="Title.")]
    pillars: Annotated[list[Pillar], Meta(min_length=1, max_length=4, description="Pillars it serves.")]
    summary: Annotated[Text, Meta(description="Summary.")]
    problem: Annotated[Text | None, Meta(description="Problem it solves.")] = None
    steps: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=5000)]],
        Meta(max_length=200, description="Steps, in order."),
    ] = []
    resources: Annotated[list[Resource], Meta(max_length=200, description="Documents and tools.")] = []
    license: Annotated[Name | None, Meta(description="Licence (SPDX identifier or URL).")] = None
    contact: Annotated[Contact | None, Meta(description="Who to ask about it.")] = None
    adopted_from: Annotated[
        list[AdoptedFrom], Meta(max_length=50, description="Methodologies of other communes it adapts.")
    ] = []
    commitment_ids: Annotated[list[RecordId], Meta(max_length=100, description="Commitments that applied it.")] = []


class Tombstone(_Record):
    """A deleted record, kept so harvesters see the deletion."""

    entity: Annotated[Entity, Meta(description="Collection the record belonged to.")]
    id: Annotated[RecordId, Meta(description="Identifier (or indicator code) of the deleted record.")]
    deleted_at: Annotated[datetime, Meta(tz=True, description="When it was deleted.")]


class PlanFeed(_Record):
    """A commune's Open Government plan feed, Plan Feed v1."""

    spec_version: Annotated[
        str, Meta(pattern=r"^1\.[0-9]+\Z", description="Version of the standard: 1.1 (1.0 is read too).")
    ]
    generated_at: Annotated[datetime, Meta(tz=True, description="When this document was generated.")]
    sequence: Annotated[
        int, Meta(ge=0, le=MAX_SEQUENCE, description="Strictly increasing with every published change.")
    ]
    publisher: Annotated[Jurisdiction, Meta(description="The commune that publishes the feed.")]
    license: Annotated[Name, Meta(description="Licence of the data (SPDX identifier or URL).")]
    contact: Annotated[Contact, Meta(description="Who answers questions about the feed.")]
    language: Annotated[
        str, Meta(pattern=r"^[a-z]{2}(-[A-Z]{2})?\Z", description="Language of the texts (BCP 47).")
    ] = "es-CL"
    synthetic: Annotated[
        bool,
        Meta(
            description="Since 1.1: true when the content is generated test data (a demonstration or a load "
            "test), not a commune's real plan; whoever shows it must say so."
        ),
    ] = False
    organizations: Annotated[list[Organization], Many, Meta(description="Organizations.")] = []
    action_plans: Annotated[list[ActionPlan], Many, Meta(description="Action plans.")] = []
    commitments: Annotated[list[Commitment], Many, Meta(description="Commitments.")] = []
    milestones: Annotated[list[Milestone], Many, Meta(description="Milestones (hitos).")] = []
    assessments: Annotated[list[Assessment], Many, Meta(description="Assessments.")] = []
    participation_events: Annotated[list[ParticipationEvent], Many, Meta(description="Participation events.")] = []
    inputs: Annotated[list[Input], Many, Meta(description="Citizen inputs and responses.")] = []
    indicators: Annotated[list[Indicator], Many, Meta(description="Indicator definitions.")] = []
    observations: Annotated[list[Observation], Many, Meta(description="Indicator observations.")] = []
    methodologies: Annotated[list[Methodology], Many, Meta(description="Methodologies.")] = []
    tombstones: Annotated[list[Tombstone], Many, Meta(description="Deleted records.")] = []
