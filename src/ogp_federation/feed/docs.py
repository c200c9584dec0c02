"""Reference documentation generated from the code: the field reference and the rule catalogue."""

from __future__ import annotations

from typing import Any

from .schema import build_schema
from .validation.rules import RULES, RULESET_VERSION

__all__ = ["field_reference", "rules_reference"]


def field_reference() -> str:
    """Markdown describing every structure, field and enumeration of the standard."""
    schema = build_schema()
    definitions: dict[str, dict[str, Any]] = schema["$defs"]
    lines = [
        f"# {schema['title']} — referencia de campos / field reference",
        "",
        "Generado desde `ogp_federation.feed.model` (`ogp-federation feed docs`); no editar a mano.",
        "Generated from the code; do not edit by hand.",
        "",
    ]
    order = ["PlanFeed", *sorted(name for name in definitions if name != "PlanFeed")]
    for name in order:
        definition = definitions[name]
        lines += [f"## {name}", "", definition.get("description", ""), ""]
        if "enum" in definition:
            lines += [", ".join(f"`{value}`" for value in definition["enum"]), ""]
            continue
        required = set(definition.get("required", []))
        lines += [
            "| campo / field | tipo / type | obligatorio / required | descripción / description |",
            "|---|---|---|---|",
        ]
        for field, spec in definition["properties"].items():
            mark = "sí / yes" if field in required else "no"
            lines.append(f"| `{field}` | {_type(spec)} | {mark} | {spec.get('description', '')} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def rules_reference() -> str:
    """Markdown listing every validation rule with its severity, layer and messages."""
    lines = [
        f"# Reglas de validación / validation rules (ruleset {RULESET_VERSION})",
        "",
        "Generado desde `ogp_federation.feed.validation.rules`; no editar a mano.",
        "",
        "| regla / rule | severidad / severity | capa / layer | mensaje | message |",
        "|---|---|---|---|---|",
    ]
    for rule in RULES.values():
        lines.append(f"| `{rule.id}` | {rule.severity} | {rule.layer} | {_cell(rule.es)} | {_cell(rule.en)} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _type(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        target = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{target}](#{target.lower()})"
    if "anyOf" in spec:
        return " \\| ".join(_type(option) for option in spec["anyOf"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"lista de {_type(spec['items'])}"
    extras = []
    if "format" in spec:
        extras.append(spec["format"])
    if "pattern" in spec:
        extras.append(f"`{_cell(spec['pattern'])}`")
    for key, symbol in (("minimum", "≥"), ("maximum", "≤"), ("exclusiveMinimum", ">"), ("maxLength", "len ≤")):
        if key in spec:
            extras.append(f"{symbol} {spec[key]}")
    return f"{kind} ({', '.join(extras)})" if extras else str(kind)
