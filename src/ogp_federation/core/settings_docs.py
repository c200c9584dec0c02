"""The settings reference, generated from the settings structures (every field, its variable, default, meaning)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec
import msgspec.inspect as mi

__all__ = ["settings_reference", "undocumented"]


def _description(field: mi.Field) -> str:
    info = field.type
    if isinstance(info, mi.Metadata) and info.extra_json_schema:
        return str(info.extra_json_schema.get("description", ""))
    return ""


def _bare(info: mi.Type) -> mi.Type:
    return info.type if isinstance(info, mi.Metadata) else info


def _type(info: mi.Type) -> str:
    info = _bare(info)
    if isinstance(info, mi.UnionType):
        kinds = [_type(t) for t in info.types if not isinstance(t, mi.NoneType)]
        optional = any(isinstance(t, mi.NoneType) for t in info.types)
        return " or ".join(kinds) + (" (optional)" if optional else "")
    if isinstance(info, mi.ListType):
        return f"list of {_type(info.item_type)}"
    if isinstance(info, mi.StructType):
        return "table"
    names = {mi.StrType: "text", mi.IntType: "integer", mi.FloatType: "number", mi.BoolType: "true/false"}
    return names.get(type(info), type(info).__name__.removesuffix("Type").lower())


def _default(field: mi.Field) -> str:
    if field.required:
        return "required"
    value: Any = field.default
    if value is msgspec.NODEFAULT:
        value = field.default_factory()
    if isinstance(value, msgspec.Struct):
        return "see below"
    return f"`{msgspec.json.encode(value).decode()}`"


def _fields(kind: type[msgspec.Struct]) -> tuple[mi.Field, ...]:
    info = mi.type_info(kind)
    if not isinstance(info, mi.StructType):
        raise TypeError(f"{kind!r} is not a settings structure")
    return info.fields


def undocumented(kind: type[msgspec.Struct], prefix: str = "") -> list[str]:
    """The fields of ``kind`` (and of the tables inside it) that have no description."""
    missing = []
    for field in _fields(kind):
        if not _description(field):
            missing.append(prefix + field.name)
        inner = _bare(field.type)
        if isinstance(inner, mi.StructType):
            missing += undocumented(inner.cls, f"{prefix}{field.name}.")
    return missing


def settings_reference(
    kind: type[msgspec.Struct], *, section: str, env_prefix: str, env_fields: Collection[str] | None = None
) -> str:
    """Markdown: a table of every setting of ``kind`` under ``[section]``, with its environment variable.

    ``env_fields`` names the fields an environment variable can set (None: all of the top level).
    """
    lines = [
        f"### `[{section}]`",
        "",
        "| setting | environment variable | type | default | description |",
        "|---|---|---|---|---|",
    ]
    tables = []
    for field in _fields(kind):
        variable = env_prefix + field.name.upper() if env_fields is None or field.name in env_fields else "—"
        variable = f"`{variable}`" if variable != "—" else variable
        cells = [f"`{field.name}`", variable, _type(field.type), _default(field), _description(field)]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        inner = _bare(field.type)
        if isinstance(inner, mi.StructType):
            tables.append(
                settings_reference(inner.cls, section=f"{section}.{field.name}", env_prefix="", env_fields=())
            )
    return "\n".join([*lines, "", *tables]).rstrip() + "\n"
