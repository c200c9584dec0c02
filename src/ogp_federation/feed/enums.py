"""Closed vocabularies of Plan Feed v1.

Each enumeration's docstring becomes its description in the JSON Schema and the field reference.
Values are stable identifiers in English snake_case; user-facing labels live in :mod:`labels`.
"""

from __future__ import annotations

import enum

__all__ = [
    "AgeBand",
    "AssessmentKind",
    "AssessmentStage",
    "CommitmentStatus",
    "Completion",
    "Direction",
    "Entity",
    "EventType",
    "EvidenceKind",
    "Frequency",
    "Gender",
    "IAP2Level",
    "InputState",
    "MilestoneStatus",
    "Modality",
    "ObservationStatus",
    "OpenGovernmentEffect",
    "OrganizationClassification",
    "Pillar",
    "PlanStatus",
    "PotentialImpact",
    "Programme",
]


class Pillar(enum.StrEnum):
    """The four pillars of Open Government."""

    TRANSPARENCY_ACCESS_INFORMATION = "transparency_access_information"
    PARTICIPATION_COLLABORATION = "participation_collaboration"
    ACCOUNTABILITY = "accountability"
    INNOVATION_TECHNOLOGY = "innovation_technology"


class OrganizationClassification(enum.StrEnum):
    """What kind of body an organization is."""

    MUNICIPAL_UNIT = "municipal_unit"
    MULTI_STAKEHOLDER_FORUM = "multi_stakeholder_forum"
    MONITORING_BODY = "monitoring_body"
    UNIVERSITY = "university"
    CIVIL_SOCIETY = "civil_society"
    COSOC = "cosoc"
    GOVERNMENT_AGENCY = "government_agency"
    PRIVATE_SECTOR = "private_sector"
    OTHER = "other"


class Programme(enum.StrEnum):
    """The programme an action plan belongs to."""

    OGP_LOCAL = "ogp_local"
    OGP_NATIONAL = "ogp_national"
    OGP_SUBNATIONAL = "ogp_subnational"
    OWN = "own"


class PlanStatus(enum.StrEnum):
    """Life-cycle stage of an action plan."""

    DRAFT = "draft"
    CO_CREATION = "co_creation"
    IMPLEMENTATION = "implementation"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class MilestoneStatus(enum.StrEnum):
    """Implementation status of a milestone (hito)."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DELAYED = "delayed"
    CANCELLED = "cancelled"


CommitmentStatus = MilestoneStatus
"""Commitments use the same status vocabulary as milestones."""


class EvidenceKind(enum.StrEnum):
    """Kind of document offered as evidence of a milestone."""

    DECREE = "decree"
    MINUTES = "minutes"
    DATASET = "dataset"
    PHOTO = "photo"
    REPORT = "report"
    WEB_PAGE = "web_page"


class AssessmentKind(enum.StrEnum):
    """Who assessed: the commune itself or an independent body (e.g. OGP's IRM)."""

    SELF = "self"
    INDEPENDENT = "independent"


class AssessmentStage(enum.StrEnum):
    """When in the plan cycle the assessment was made (OGP IRM stages)."""

    INCEPTION = "inception"
    MIDTERM = "midterm"
    END_OF_COMMITMENT = "end_of_commitment"


class Completion(enum.StrEnum):
    """OGP IRM completion scale."""

    NO_EVIDENCE = "no_evidence"
    NOT_STARTED = "not_started"
    LIMITED = "limited"
    SUBSTANTIAL = "substantial"
    COMPLETE = "complete"


class OpenGovernmentEffect(enum.StrEnum):
    """OGP IRM 'did it open government?' scale."""

    WORSENED = "worsened"
    DID_NOT_CHANGE = "did_not_change"
    MARGINAL = "marginal"
    MAJOR = "major"
    OUTSTANDING = "outstanding"


class PotentialImpact(enum.StrEnum):
    """OGP IRM potential impact scale."""

    UNCLEAR = "unclear"
    NONE = "none"
    MINOR = "minor"
    MODERATE = "moderate"
    TRANSFORMATIVE = "transformative"


class EventType(enum.StrEnum):
    """Kind of participation event."""

    FORUM_SESSION = "forum_session"
    CO_CREATION_WORKSHOP = "co_creation_workshop"
    CONSULTATION = "consultation"
    SURVEY = "survey"
    CABILDO = "cabildo"
    COSOC_SESSION = "cosoc_session"
    PUBLIC_ACCOUNT = "public_account"
    TRAINING = "training"
    OTHER = "other"


class Modality(enum.StrEnum):
    """How people took part."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class IAP2Level(enum.StrEnum):
    """IAP2 spectrum of public participation."""

    INFORM = "inform"
    CONSULT = "consult"
    INVOLVE = "involve"
    COLLABORATE = "collaborate"
    EMPOWER = "empower"


class Gender(enum.StrEnum):
    """Gender category of an attendance breakdown."""

    FEMALE = "female"
    MALE = "male"
    NON_BINARY = "non_binary"
    OTHER = "other"
    NOT_REPORTED = "not_reported"


class AgeBand(enum.StrEnum):
    """Age band of an attendance breakdown (years)."""

    UNDER_18 = "0-17"
    FROM_18_TO_29 = "18-29"
    FROM_30_TO_44 = "30-44"
    FROM_45_TO_59 = "45-59"
    FROM_60 = "60+"
    NOT_REPORTED = "not_reported"


class InputState(enum.StrEnum):
    """What the commune did with a citizen input."""

    EVALUATING = "evaluating"
    ACCEPTED = "accepted"
    PARTIALLY_ACCEPTED = "partially_accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Direction(enum.StrEnum):
    """How to read an indicator's values when comparing."""

    HIGHER_BETTER = "higher_better"
    LOWER_BETTER = "lower_better"
    TARGET_RANGE = "target_range"
    CONTEXT = "context"


class Frequency(enum.StrEnum):
    """How often an indicator is observed."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"
    AD_HOC = "ad_hoc"


class ObservationStatus(enum.StrEnum):
    """Whether an observed value may still change."""

    PROVISIONAL = "provisional"
    FINAL = "final"


class Entity(enum.StrEnum):
    """The record collections of a feed (used by tombstones and change feeds)."""

    ORGANIZATIONS = "organizations"
    ACTION_PLANS = "action_plans"
    COMMITMENTS = "commitments"
    MILESTONES = "milestones"
    ASSESSMENTS = "assessments"
    PARTICIPATION_EVENTS = "participation_events"
    INPUTS = "inputs"
    INDICATORS = "indicators"
    OBSERVATIONS = "observations"
    METHODOLOGIES = "methodologies"
