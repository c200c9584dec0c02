"""The spreadsheet template, derived from the feed model: one sheet per collection, Spanish headers.

Flattening rules, the same for every collection:
- a plain field (text, number, date, enumeration) is one column;
- a list of identifiers or enumeration values is one column, values separated by commas;
- a nested structure (a methodology's contact) becomes prefixed columns;
- a list of structures or of free texts (evidence, resources, steps, attendance counts) becomes a child
  sheet whose first column names the parent record.
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec

from ogp_federation.feed import COLLECTIONS, Collection

__all__ = ["AUXILIARY_SHEETS", "INSTRUCTIONS", "LISTS", "PARENT", "SHEETS", "Column", "Sheet", "scalar_kind"]

SHEET_NAMES = {
    "organizations": "organizaciones",
    "action_plans": "planes",
    "commitments": "compromisos",
    "milestones": "hitos",
    "milestones.evidence": "evidencias",
    "assessments": "evaluaciones",
    "participation_events": "eventos",
    "participation_events.breakdown.gender": "asistencia_genero",
    "participation_events.breakdown.age": "asistencia_edad",
    "inputs": "aportes",
    "indicators": "indicadores",
    "observations": "observaciones",
    "methodologies": "metodologias",
    "methodologies.steps": "pasos",
    "methodologies.resources": "recursos",
    "methodologies.adopted_from": "adaptada_de",
}
LABELS = {
    "id": "id",
    "name": "nombre",
    "title": "titulo",
    "classification": "clasificacion",
    "parent_id": "padre",
    "url": "url",
    "programme": "programa",
    "start": "inicio",
    "end": "termino",
    "status": "estado",
    "submitted_on": "presentado_el",
    "lead_unit_id": "unidad_lider",
    "forum_id": "foro",
    "monitoring_body_id": "ente_monitoreo",
    "repository_url": "url_repositorio",
    "description": "descripcion",
    "plan_id": "plan",
    "pillars": "pilares",
    "progress": "avance",
    "problem": "problema",
    "status_quo": "situacion_actual",
    "actions": "acciones",
    "expected_results": "resultados_esperados",
    "policy_area": "area_politica",
    "lead_organization_id": "organizacion_lider",
    "supporting_organization_ids": "organizaciones_apoyo",
    "budget_clp": "presupuesto_clp",
    "weight": "peso",
    "commitment_id": "compromiso",
    "due": "vencimiento",
    "completed_on": "cumplido_el",
    "outside_span_reason": "motivo_fuera_de_plazo",
    "kind": "tipo",
    "published_on": "fecha",
    "sha256": "sha256",
    "target_entity": "coleccion_evaluada",
    "target_id": "registro_evaluado",
    "stage": "etapa",
    "assessor": "evaluador",
    "assessed_on": "evaluado_el",
    "completion": "cumplimiento",
    "did_it_open_government": "abrio_el_gobierno",
    "potential_impact": "impacto_potencial",
    "narrative": "relato",
    "type": "tipo",
    "modality": "modalidad",
    "iap2_level": "nivel_iap2",
    "attendees": "asistentes",
    "location": "lugar",
    "organization_ids": "organizaciones",
    "minutes_url": "url_acta",
    "commitment_ids": "compromisos",
    "event_id": "evento",
    "summary": "resumen",
    "state": "estado",
    "reasoned_response": "respuesta_fundada",
    "answered_on": "respondido_el",
    "code": "codigo",
    "unit": "unidad",
    "direction": "direccion",
    "pillar": "pilar",
    "frequency": "frecuencia",
    "method": "metodo",
    "source": "fuente",
    "target_min": "meta_minima",
    "target_max": "meta_maxima",
    "catalogue_code": "codigo_catalogo",
    "indicator_code": "indicador",
    "period_start": "periodo_inicio",
    "period_end": "periodo_termino",
    "value": "valor",
    "source_url": "url_fuente",
    "note": "nota",
    "license": "licencia",
    "contact": "contacto",
    "email": "correo",
    "phone": "telefono",
    "gender": "genero",
    "band": "tramo_edad",
    "count": "cantidad",
    "cut": "cut",
    "text": "texto",
}
PARENT = "registro"  # first column of a child sheet: the key of the parent record
INSTRUCTIONS = "instrucciones"  # the template's own sheets, which the import passes over
LISTS = "listas"
AUXILIARY_SHEETS = frozenset({INSTRUCTIONS, LISTS})


@dataclass(frozen=True)
class Column:
    """One column: its header and where its value goes in the record (``path`` of field names)."""

    header: str
    path: tuple[str, ...]
    kind: str  # "scalar", "list" (comma-separated) or "text_item" (the single value of a list of texts)
    type: Any


@dataclass
class Sheet:
    """One sheet: a collection's records, or the items of a list inside them (a child sheet)."""

    name: str
    collection: Collection
    columns: list[Column]
    list_path: tuple[str, ...] = ()  # empty for a main sheet
    children: list[Sheet] = field(default_factory=list)

    @property
    def is_child(self) -> bool:
        """Whether this sheet holds items of a list inside the records."""
        return bool(self.list_path)

    def headers(self) -> list[str]:
        """The header row."""
        return ([PARENT] if self.is_child else []) + [column.header for column in self.columns]


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _optional(tp: Any) -> Any:
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        arms = [_strip(arm) for arm in typing.get_args(tp) if arm is not type(None)]
        if len(arms) == 1:
            return arms[0]
    return tp


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def scalar_kind(tp: Any) -> str:
    """``date``, ``datetime``, ``int``, ``float``, ``enum`` or ``str`` for a (possibly optional) field type."""
    tp = _optional(tp)
    if tp is datetime:
        return "datetime"
    if tp is date:
        return "date"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "enum"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    return "str"


def _label(path: tuple[str, ...]) -> str:
    return "_".join(LABELS.get(part, part) for part in path)


def _build(collection: Collection, struct: type[msgspec.Struct], prefix: tuple[str, ...], sheet: Sheet) -> None:
    for info in msgspec.structs.fields(struct):
        path = (*prefix, info.encode_name)
        tp = _optional(info.type)
        if _is_struct(tp):
            _build(collection, tp, path, sheet)
            continue
        if typing.get_origin(tp) is list:
            item = _optional(typing.get_args(tp)[0])
            dotted = ".".join((collection.entity.value, *sheet.list_path, *path))
            if _is_struct(item):
                child = Sheet(SHEET_NAMES[dotted], collection, [], list_path=(*sheet.list_path, *path))
                _build(collection, item, (), child)
                sheet.children.append(child)
            elif dotted in SHEET_NAMES:  # a list of free texts: one item per row
                column = Column(LABELS["text"], (), "text_item", item)
                child = Sheet(SHEET_NAMES[dotted], collection, [column], list_path=(*sheet.list_path, *path))
                sheet.children.append(child)
            else:
                sheet.columns.append(Column(_label(path), path, "list", item))
            continue
        sheet.columns.append(Column(_label(path), path, "scalar", tp))


def _layout() -> list[Sheet]:
    sheets = []
    for collection in COLLECTIONS:
        sheet = Sheet(SHEET_NAMES[collection.entity.value], collection, [])
        _build(collection, collection.record_type, (), sheet)
        sheets.append(sheet)
    return sheets


SHEETS: list[Sheet] = _layout()


def all_sheets() -> list[Sheet]:
    """Every sheet, each main sheet followed by its child sheets (depth first)."""
    out: list[Sheet] = []

    def visit(sheet: Sheet) -> None:
        out.append(sheet)
        for child in sheet.children:
            visit(child)

    for sheet in SHEETS:
        visit(sheet)
    return out
