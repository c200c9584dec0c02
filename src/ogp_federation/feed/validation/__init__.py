"""Layered validation of plan feeds."""

from __future__ import annotations

from .continuity import Predecessor
from .report import Finding, Layer, Report, Severity
from .rules import RULES, RULESET_VERSION, Rule
from .structure import check_record
from .validator import DEFAULT_MAX_BYTES, validate, validate_feed

__all__ = [
    "DEFAULT_MAX_BYTES",
    "RULES",
    "RULESET_VERSION",
    "Finding",
    "Layer",
    "Predecessor",
    "Report",
    "Rule",
    "Severity",
    "check_record",
    "validate",
    "validate_feed",
]
