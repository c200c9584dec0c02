"""Spanish (es-CL) labels of the standard's vocabularies, for pages and reports. English is the value."""

from __future__ import annotations

import enum
import typing
import unicodedata

from .enums import (
    Direction,
    EventType,
    EvidenceKind,
    Frequency,
    IAP2Level,
    InputState,
    MilestoneStatus,
    Modality,
    OrganizationClassification,
    Pillar,
    PlanStatus,
    Programme,
)

__all__ = ["LABELS_ES", "label", "parse_label"]

# By enumeration, then value: several vocabularies share values (completed, withdrawn…) with other labels.
LABELS_ES: dict[type[enum.Enum], dict[enum.Enum, str]] = {
    Pillar: {
        Pillar.TRANSPARENCY_ACCESS_INFORMATION: "Transparencia y acceso a la información",
        Pillar.PARTICIPATION_COLLABORATION: "Participación ciudadana y colaboración",
        Pillar.ACCOUNTABILITY: "Rendición de cuentas",
        Pillar.INNOVATION_TECHNOLOGY: "Innovación y tecnología",
    },
    MilestoneStatus: {
        MilestoneStatus.NOT_STARTED: "No iniciado",
        MilestoneStatus.IN_PROGRESS: "En curso",
        MilestoneStatus.COMPLETED: "Cumplido",
        MilestoneStatus.DELAYED: "Atrasado",
        MilestoneStatus.CANCELLED: "Cancelado",
    },
    PlanStatus: {
        PlanStatus.DRAFT: "Borrador",
        PlanStatus.CO_CREATION: "En co-creación",
        PlanStatus.IMPLEMENTATION: "En implementación",
        PlanStatus.COMPLETED: "Finalizado",
        PlanStatus.WITHDRAWN: "Retirado",
    },
    Programme: {
        Programme.OGP_LOCAL: "OGP Local",
        Programme.OGP_NATIONAL: "OGP nacional",
        Programme.OGP_SUBNATIONAL: "OGP subnacional",
        Programme.OWN: "Plan propio",
    },
    InputState: {
        InputState.EVALUATING: "En evaluación",
        InputState.ACCEPTED: "Acogido",
        InputState.PARTIALLY_ACCEPTED: "Acogido parcialmente",
        InputState.REJECTED: "No acogido",
        InputState.WITHDRAWN: "Retirado",
    },
    EventType: {
        EventType.FORUM_SESSION: "Sesión del foro multiactor",
        EventType.CO_CREATION_WORKSHOP: "Taller de co-creación",
        EventType.CONSULTATION: "Consulta ciudadana",
        EventType.SURVEY: "Encuesta",
        EventType.CABILDO: "Cabildo",
        EventType.COSOC_SESSION: "Sesión del COSOC",
        EventType.PUBLIC_ACCOUNT: "Cuenta pública",
        EventType.TRAINING: "Capacitación",
        EventType.OTHER: "Otro",
    },
    Modality: {
        Modality.IN_PERSON: "Presencial",
        Modality.ONLINE: "En línea",
        Modality.HYBRID: "Híbrido",
    },
    IAP2Level: {
        IAP2Level.INFORM: "Informar",
        IAP2Level.CONSULT: "Consultar",
        IAP2Level.INVOLVE: "Involucrar",
        IAP2Level.COLLABORATE: "Colaborar",
        IAP2Level.EMPOWER: "Empoderar",
    },
    EvidenceKind: {
        EvidenceKind.DECREE: "Decreto",
        EvidenceKind.MINUTES: "Acta",
        EvidenceKind.DATASET: "Datos",
        EvidenceKind.PHOTO: "Fotografía",
        EvidenceKind.REPORT: "Informe",
        EvidenceKind.WEB_PAGE: "Página web",
    },
    Direction: {
        Direction.HIGHER_BETTER: "Mayor es mejor",
        Direction.LOWER_BETTER: "Menor es mejor",
        Direction.TARGET_RANGE: "Dentro de un rango meta",
        Direction.CONTEXT: "De contexto",
    },
    Frequency: {
        Frequency.MONTHLY: "Mensual",
        Frequency.QUARTERLY: "Trimestral",
        Frequency.SEMIANNUAL: "Semestral",
        Frequency.ANNUAL: "Anual",
        Frequency.AD_HOC: "Ocasional",
    },
    OrganizationClassification: {
        OrganizationClassification.MUNICIPAL_UNIT: "Unidad municipal",
        OrganizationClassification.MULTI_STAKEHOLDER_FORUM: "Foro multiactor",
        OrganizationClassification.MONITORING_BODY: "Ente de monitoreo",
        OrganizationClassification.UNIVERSITY: "Universidad",
        OrganizationClassification.CIVIL_SOCIETY: "Sociedad civil",
        OrganizationClassification.COSOC: "COSOC",
        OrganizationClassification.GOVERNMENT_AGENCY: "Organismo público",
        OrganizationClassification.PRIVATE_SECTOR: "Sector privado",
        OrganizationClassification.OTHER: "Otra",
    },
}


def label(value: enum.Enum) -> str:
    """The Spanish label of an enumeration value (its value if none is defined)."""
    return LABELS_ES.get(type(value), {}).get(value, str(value.value))


def _folded(text: str) -> str:
    """``text`` compared as a person reads it: no accents, no case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


E = typing.TypeVar("E", bound=enum.Enum)


def parse_label(kind: type[E], text: str) -> E | None:
    """The value of ``kind`` that ``text`` names: its code, or its Spanish label (accents and case aside)."""
    wanted = _folded(text)
    for value in kind:
        if wanted in (_folded(str(value.value)), _folded(label(value))):
            return value
    return None
