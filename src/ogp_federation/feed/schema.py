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
    generated = msgspec.json.schema(PlanFeed)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"Plan Feed {SPEC_VERSION}",
        "description": "Plan de Gobierno Abierto de una comuna (ogp-federation). "
        "A commune's Open Government plan feed.",
        **generated,
    }


def schema_json() -> str:
    """The schema as stable, pretty-printed JSON text (what is shipped and printed)."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def packaged_schema() -> str:
    """The schema file shipped with the package; a test keeps it equal to :func:`schema_json`."""
    return resources.files(__package__).joinpath("data", SCHEMA_FILE).read_text(encoding="utf-8")
