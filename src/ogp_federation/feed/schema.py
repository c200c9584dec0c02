"""The JSON Schema of Plan Feed v1, generated from :mod:`model` and shipped as package data."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import msgspec

from .model import SPEC_VERSION, PlanFeed

__all__ = ["SCHEMA_FILE", "SCHEMA_ID", "build_schema", "packaged_schema", "schema_json"]

SCHEMA_ID = "urn:ogp-federation:plan-feed:1"
SCHEMA_FILE = "plan-feed-v1.schema.json"


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
    """``value`` with each pattern written for JSON Schema's regular expressions (ECMA-262).

    The model's patterns end with ``\\Z``: in Python, ``$`` also matches before a final newline, so
    ``"abc\\n"`` would pass ``^[a-z]+$`` in the validator and fail it in the schema. ECMA's ``$`` (no
    multiline flag) is Python's ``\\Z``; written so, the two accept exactly the same strings.
    """
    if isinstance(value, dict):
        return {
            key: item[:-2] + "$"
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
