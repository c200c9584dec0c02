"""The catalogue of validation rules: stable ids, severities, layers and bilingual messages.

A rule id never changes meaning once published; retiring a rule bumps :data:`RULESET_VERSION`'s minor,
changing what a rule accepts bumps its major. ``docs/rules.md`` is generated from this catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .report import Finding, Layer, Severity

__all__ = ["RULES", "RULESET_VERSION", "Rule"]

RULESET_VERSION = "1.3.0"  # 1.1.0: text.nul; 1.2.0: text.control, json.duplicate_key, patterns end at the end;
# 1.3.0: indicator.catalogue_unknown, indicator.catalogue_unit, indicator.catalogue_derived (Plan Feed 1.1)


@dataclass(frozen=True, slots=True)
class Rule:
    """A validation rule and its message templates (``str.format`` fields)."""

    id: str
    severity: Severity
    layer: Layer
    es: str
    en: str

    def at(self, path: str, **params: Any) -> Finding:
        """A finding of this rule at ``path``."""
        return Finding(
            rule=self.id,
            severity=self.severity,
            layer=self.layer,
            path=path,
            message=self.es.format(**params),
            message_en=self.en.format(**params),
        )


_C, _E, _W, _A = Severity.CRITICAL, Severity.ERROR, Severity.WARNING, Severity.ADVISORY
_WF, _SC, _EN = Layer.WELL_FORMEDNESS, Layer.SCHEMA, Layer.ENUMERATIONS
_SE, _RE, _CO = Layer.SEMANTICS, Layer.REFERENCES, Layer.CONTINUITY

_CATALOGUE = (
    # Well-formedness: nothing else can run when these fail.
    Rule(
        "json.too_large",
        _C,
        _WF,
        "El documento pesa {size} bytes; el máximo es {limit}.",
        "The document is {size} bytes; the maximum is {limit}.",
    ),
    Rule(
        "json.encoding",
        _C,
        _WF,
        "El documento no está codificado en UTF-8 sin BOM ({detail}).",
        "The document is not UTF-8 without a BOM ({detail}).",
    ),
    Rule("json.syntax", _C, _WF, "JSON mal formado: {detail_es}.", "Malformed JSON: {detail}."),
    Rule(
        "json.duplicate_key",
        _C,
        _WF,
        "El objeto repite el campo «{name}»: cada lector podría quedarse con un valor distinto; déjelo una vez.",
        "The object repeats the member '{name}': readers may keep different values; keep it once.",
    ),
    Rule(
        "spec.version",
        _C,
        _WF,
        "Versión del estándar «{value}» no soportada; este validador lee 1.x.",
        "Unsupported spec_version '{value}'; this validator reads 1.x.",
    ),
    # Schema and enumerations.
    Rule("schema.required", _E, _SC, "Falta el campo obligatorio «{field}».", "Required field '{field}' is missing."),
    Rule(
        "schema.unknown_field",
        _E,
        _SC,
        "Campo desconocido «{field}» (¿error de tipeo?).",
        "Unknown field '{field}' (a typo?).",
    ),
    Rule(
        "schema.type",
        _E,
        _SC,
        "Tipo incorrecto: se esperaba {expected}, se recibió {got}.",
        "Wrong type: expected {expected}, got {got}.",
    ),
    Rule(
        "schema.format",
        _E,
        _SC,
        "Formato de fecha u hora no válido: {detail_es}.",
        "Invalid date or time format: {detail}.",
    ),
    Rule("schema.constraint", _E, _SC, "Valor no permitido: {detail_es}.", "Value not allowed: {detail}."),
    Rule(
        "text.nul",
        _E,
        _SC,
        "El texto contiene el carácter nulo (U+0000), que las bases de datos no guardan; quítelo.",
        "The text contains the NUL character (U+0000), which databases do not store; remove it.",
    ),
    Rule(
        "text.control",
        _E,
        _SC,
        "El texto contiene un carácter de control invisible ({code}), que rompe planillas y exportaciones; "
        "quítelo (se admiten tabulación y saltos de línea).",
        "The text contains an invisible control character ({code}), which breaks spreadsheets and exports; "
        "remove it (tabs and line breaks are allowed).",
    ),
    Rule(
        "enum.value",
        _E,
        _EN,
        "Valor «{value}» no permitido; valores válidos: {allowed}.",
        "Value '{value}' is not allowed; valid values: {allowed}.",
    ),
    # Semantics.
    Rule(
        "ids.duplicate",
        _E,
        _SE,
        "Identificador «{id}» repetido en {entity} (ya usado en {first}).",
        "Identifier '{id}' repeated in {entity} (already used at {first}).",
    ),
    Rule(
        "publisher.cut_unknown",
        _E,
        _SE,
        "El CUT {cut} no corresponde a ninguna comuna de Chile.",
        "CUT {cut} is not a commune of Chile.",
    ),
    Rule(
        "publisher.codes_mismatch",
        _E,
        _SE,
        "«{value}» no corresponde a la comuna {cut}; se esperaba «{expected}».",
        "'{value}' does not match commune {cut}; expected '{expected}'.",
    ),
    Rule(
        "publisher.name_mismatch",
        _W,
        _SE,
        "El nombre «{name}» difiere del oficial «{expected}».",
        "Name '{name}' differs from the official '{expected}'.",
    ),
    Rule(
        "publisher.population_missing",
        _A,
        _SE,
        "Sin población informada: la comuna no podrá compararse por tamaño con sus pares.",
        "No population given: the commune cannot be compared with peers by size.",
    ),
    Rule(
        "feed.generated_in_future",
        _E,
        _SE,
        "generated_at ({value}) está en el futuro (ahora: {now}).",
        "generated_at ({value}) is in the future (now: {now}).",
    ),
    Rule(
        "dates.start_after_end",
        _E,
        _SE,
        "El inicio ({start}) es posterior al término ({end}).",
        "Start ({start}) is after end ({end}).",
    ),
    Rule(
        "dates.after_generated",
        _E,
        _SE,
        "La fecha {value} es posterior a la generación del feed ({generated}).",
        "Date {value} is after the feed was generated ({generated}).",
    ),
    Rule(
        "commitment.outside_plan",
        _W,
        _SE,
        "El compromiso ({start} a {end}) excede el período del plan «{plan}» ({plan_start} a {plan_end}).",
        "The commitment ({start} to {end}) exceeds the span of plan '{plan}' ({plan_start} to {plan_end}).",
    ),
    Rule(
        "milestone.outside_commitment",
        _E,
        _SE,
        "El hito vence el {due}, fuera del compromiso «{commitment}» ({start} a {end}); "
        "si es intencional, explíquelo en outside_span_reason.",
        "The milestone is due {due}, outside commitment '{commitment}' ({start} to {end}); "
        "if intended, explain it in outside_span_reason.",
    ),
    Rule(
        "milestone.completed_without_evidence",
        _W,
        _SE,
        "Hito completado sin evidencia publicada.",
        "Completed milestone without published evidence.",
    ),
    Rule(
        "milestone.completed_without_date",
        _E,
        _SE,
        "Hito completado sin fecha de cumplimiento (completed_on).",
        "Completed milestone without a completion date (completed_on).",
    ),
    Rule(
        "milestone.date_without_completion",
        _W,
        _SE,
        "El hito tiene completed_on pero su estado es «{status}».",
        "The milestone has completed_on but its status is '{status}'.",
    ),
    Rule(
        "status.progress_mismatch",
        _E,
        _SE,
        "El estado «{status}» no es coherente con un avance de {progress} %.",
        "Status '{status}' is inconsistent with {progress} % progress.",
    ),
    Rule(
        "commitment.parent_progress",
        _E,
        _SE,
        "El avance ({progress} %) difiere del promedio ponderado de sus compromisos hijos ({expected} %).",
        "Progress ({progress} %) differs from the weighted mean of its children ({expected} %).",
    ),
    Rule(
        "commitment.parent_cycle",
        _E,
        _SE,
        "Ciclo en la jerarquía de compromisos: {cycle}.",
        "Cycle in the commitment hierarchy: {cycle}.",
    ),
    Rule(
        "commitment.weight_without_parent",
        _W,
        _SE,
        "El compromiso tiene peso (weight) pero no tiene compromiso padre.",
        "The commitment has a weight but no parent commitment.",
    ),
    Rule(
        "commitment.without_milestones",
        _W,
        _SE,
        "Compromiso sin hitos: OGP exige hitos para cada compromiso.",
        "Commitment without milestones: OGP requires milestones for every commitment.",
    ),
    Rule(
        "plan.oversight_missing",
        _W,
        _SE,
        "Plan OGP sin {missing}: OGP exige foro multiactor y monitoreo externo.",
        "OGP plan without {missing_en}: OGP requires a multi-stakeholder forum and external monitoring.",
    ),
    Rule(
        "plan.oversight_classification",
        _W,
        _SE,
        "«{id}» está clasificado como «{actual}», no como «{expected}».",
        "'{id}' is classified as '{actual}', not as '{expected}'.",
    ),
    Rule(
        "input.response_missing",
        _E,
        _SE,
        "Aporte en estado «{state}» sin respuesta fundada (reasoned_response).",
        "Input in state '{state}' without a reasoned response.",
    ),
    Rule(
        "input.answer_without_date",
        _W,
        _SE,
        "Respuesta fundada sin fecha (answered_on).",
        "Reasoned response without a date (answered_on).",
    ),
    Rule(
        "input.answered_before_event",
        _E,
        _SE,
        "Respondido el {answered}, antes del evento que lo recibió ({event_start}).",
        "Answered on {answered}, before the event that received it ({event_start}).",
    ),
    Rule(
        "event.breakdown_exceeds",
        _E,
        _SE,
        "El desglose por {by} suma {total}, más que los {attendees} asistentes.",
        "The breakdown by {by_en} adds up to {total}, more than the {attendees} attendees.",
    ),
    Rule(
        "indicator.target_range_invalid",
        _E,
        _SE,
        "Indicador con dirección target_range necesita target_min ≤ target_max ({detail}).",
        "An indicator with direction target_range needs target_min ≤ target_max ({detail}).",
    ),
    Rule(
        "indicator.unit_mismatch",
        _E,
        _SE,
        "Unidad «{unit}» distinta de la del indicador «{code}» («{expected}»).",
        "Unit '{unit}' differs from that of indicator '{code}' ('{expected}').",
    ),
    Rule(
        "indicator.catalogue_unknown",
        _W,
        _SE,
        "«{code}» no es un indicador del catálogo de la federación (versión {version}); el indicador queda "
        "como propio de la comuna y no entra en las comparaciones.",
        "'{code}' is not an indicator of the federation catalogue (version {version}); the indicator stays the "
        "commune's own and is not compared.",
    ),
    Rule(
        "indicator.catalogue_unit",
        _W,
        _SE,
        "El indicador del catálogo «{code}» se mide en «{expected}», no en «{unit}»: sus observaciones no se "
        "comparan (las unidades nunca se mezclan).",
        "Catalogue indicator '{code}' is measured in '{expected}', not '{unit}': its observations are not "
        "compared (units are never mixed).",
    ),
    Rule(
        "indicator.catalogue_derived",
        _A,
        _SE,
        "«{code}» lo calcula el agregador a partir del plan, igual para todas las comunas: los valores "
        "publicados no reemplazan al calculado.",
        "'{code}' is computed by the aggregator from the plan, the same way for every commune: published "
        "values do not replace the computed one.",
    ),
    Rule(
        "observation.duplicate_period",
        _E,
        _SE,
        "Segunda observación de «{code}» para {start} a {end} (la primera en {first}).",
        "Second observation of '{code}' for {start} to {end} (the first at {first}).",
    ),
    Rule(
        "observation.future_period",
        _E,
        _SE,
        "El período termina el {end}, después de la generación del feed ({generated}).",
        "The period ends on {end}, after the feed was generated ({generated}).",
    ),
    Rule(
        "observation.period_frequency",
        _W,
        _SE,
        "Un período de {days} días no calza con la frecuencia «{frequency}» del indicador.",
        "A {days}-day period does not fit the indicator's '{frequency}' frequency.",
    ),
    Rule(
        "evidence.hash_missing",
        _A,
        _SE,
        "Evidencia sin sha256: no se podrá comprobar que el documento no cambió.",
        "Evidence without sha256: nobody can check that the document did not change.",
    ),
    Rule(
        "methodology.adopted_from_self",
        _E,
        _SE,
        "adopted_from apunta a la propia comuna ({cut}); debe referir a otra comuna.",
        "adopted_from points to the publishing commune itself ({cut}); it must name another commune.",
    ),
    Rule(
        "tombstone.record_present",
        _E,
        _SE,
        "Lápida para {entity} «{id}», pero el registro sigue publicado.",
        "Tombstone for {entity} '{id}', but the record is still published.",
    ),
    # Cross-references.
    Rule(
        "ref.plan",
        _E,
        _RE,
        "«{id}» no es un plan de acción de este feed.",
        "'{id}' is not an action plan of this feed.",
    ),
    Rule(
        "ref.commitment",
        _E,
        _RE,
        "«{id}» no es un compromiso de este feed.",
        "'{id}' is not a commitment of this feed.",
    ),
    Rule(
        "ref.organization",
        _E,
        _RE,
        "«{id}» no es una organización de este feed.",
        "'{id}' is not an organization of this feed.",
    ),
    Rule(
        "ref.event",
        _E,
        _RE,
        "«{id}» no es un evento de participación de este feed.",
        "'{id}' is not a participation event of this feed.",
    ),
    Rule(
        "ref.indicator",
        _E,
        _RE,
        "«{id}» no es el código de un indicador de este feed.",
        "'{id}' is not the code of an indicator of this feed.",
    ),
    Rule(
        "ref.assessment_target",
        _E,
        _RE,
        "«{id}» no es un registro de {entity} de este feed.",
        "'{id}' is not a record of {entity} in this feed.",
    ),
    # Continuity with the previous accepted version.
    Rule(
        "continuity.previous_unreadable",
        _E,
        _CO,
        "El feed anterior no se pudo leer: {detail}.",
        "The previous feed could not be read: {detail}.",
    ),
    Rule(
        "continuity.publisher_changed",
        _C,
        _CO,
        "El feed anterior es de la comuna {previous}; este es de {current}.",
        "The previous feed is from commune {previous}; this one is from {current}.",
    ),
    Rule(
        "continuity.sequence_not_increasing",
        _E,
        _CO,
        "sequence {sequence} no es mayor que la anterior ({previous}).",
        "sequence {sequence} is not greater than the previous one ({previous}).",
    ),
    Rule(
        "continuity.generated_at_backwards",
        _W,
        _CO,
        "generated_at ({value}) es anterior al del feed anterior ({previous}).",
        "generated_at ({value}) is earlier than the previous feed's ({previous}).",
    ),
    Rule(
        "continuity.record_vanished",
        _E,
        _CO,
        "{entity} «{id}» desapareció sin lápida (tombstone).",
        "{entity} '{id}' vanished without a tombstone.",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _CATALOGUE}
