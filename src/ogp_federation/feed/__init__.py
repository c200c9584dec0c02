"""The plan-feed standard, v1: typed structures, JSON Schema, validation and signatures.

This package is pure: it imports neither a web framework nor a database layer, so the node, the
aggregator, the CLI and any university script share one implementation of the standard.
"""

from __future__ import annotations

import msgspec

from .entities import COLLECTIONS, Collection, keys_by_collection
from .enums import Entity, Pillar
from .model import SPEC_VERSION, PlanFeed
from .reference import Commune, CommuneReference
from .schema import build_schema, schema_json
from .signing import VerifiedSignature, generate_key, jwks_of, load_jwks, load_private_key, sign, verify
from .validation import RULES, RULESET_VERSION, Finding, Report, Severity, validate

__all__ = [
    "COLLECTIONS",
    "RULES",
    "RULESET_VERSION",
    "SPEC_VERSION",
    "Collection",
    "Commune",
    "CommuneReference",
    "Entity",
    "Finding",
    "Pillar",
    "PlanFeed",
    "Report",
    "Severity",
    "VerifiedSignature",
    "build_schema",
    "decode",
    "encode",
    "generate_key",
    "jwks_of",
    "keys_by_collection",
    "load_jwks",
    "load_private_key",
    "schema_json",
    "sign",
    "validate",
    "verify",
]


def encode(feed: PlanFeed) -> bytes:
    """The canonical bytes of ``feed`` (compact JSON, fields in declaration order)."""
    return msgspec.json.encode(feed)


def decode(document: bytes) -> PlanFeed:
    """Decode a structurally valid document; use :func:`validate` to learn why one is not."""
    return msgspec.json.decode(document, type=PlanFeed)
