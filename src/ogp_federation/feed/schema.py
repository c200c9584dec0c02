"""The JSON Schema of Plan Feed v1, generated from :mod:`model` and shipped as package data."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import msgspec

from .model import SPEC_VERSION, PlanFeed

__all__ = ["SCHEMA_FILE", "SCHEMA_ID", "TEXT_PATTERN", "build_schema", "packaged_schema", "schema_json"]

SCHEMA_ID = "urn:ogp-federation:plan-feed:1"
SCHEMA_FILE = "plan-feed-v1.schema.json"
# What the validator's text.nul and text.control rules say, for JSON Schema validators: a text holds
# no C0 control character but tab, line feed and carriage return.
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"


def build_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) generated from the typed structures."""
    generated = _ecma_patterns(msgspec.json.schema(PlanFeed))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"Plan Feed {SPEC_VERSION}",
        "description": "Plan de Gobierno Abierto de una comuna (ogp-federation). "
        "A commune's Open Government plan feed.",
        **generated,
    }


def _ecma_patterns(value: Any) -> Any:
    r"""``value`` with each pattern's end written so that every regular-expression engine reads it alike.

    The model's patterns end with ``\Z`` (Python's "very end": ``$`` also matches before a final
    newline, so ``"abc\n"`` would pass ``^[a-z]+$``). JSON Schema has no ``\Z``; its engines differ on
    ``$`` (ECMA-262: the very end; Python's ``re``, used by some validators: also before a final
    newline). ``$(?!\n)`` is the very end in all of them, so the schema and the validator accept
    exactly the same strings whoever checks.
    """
    if isinstance(value, dict):
        if value.get("type") == "string" and not {"pattern", "format", "enum", "const"} & value.keys():
            value = {**value, "pattern": TEXT_PATTERN}  # a free text: no control character but tab and breaks
        return {
            key: item[:-2] + "$(?!\\n)"
            if key == "pattern" and isinstance(item, str) and item.endswith("\\Z")
            else _ecma_patterns(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_ecma_patterns(item) for item in value]
    return value


def schema_json() -> str:
    """The schema as stable, pretty-printed JSON text (what is shipped and printed)."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def packaged_schema() -> str:
    """The schema file shipped with the package; a test keeps it equal to :func:`schema_json`."""
    return resources.files(__package__).joinpath("data", SCHEMA_FILE).read_text(encoding="utf-8")
