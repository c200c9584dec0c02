"""Findings and reports produced by the validator."""

from __future__ import annotations

import enum
from typing import Any

import msgspec

__all__ = ["Finding", "Layer", "Report", "Severity"]


class Severity(enum.StrEnum):
    """How serious a finding is. Critical and error findings make a feed invalid."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    ADVISORY = "advisory"

    @property
    def blocking(self) -> bool:
        """Whether a finding of this severity makes the feed invalid."""
        return self in (Severity.CRITICAL, Severity.ERROR)


class Layer(enum.StrEnum):
    """The validation layers, in the order they run."""

    WELL_FORMEDNESS = "well_formedness"
    SCHEMA = "schema"
    ENUMERATIONS = "enumerations"
    SEMANTICS = "semantics"
    REFERENCES = "references"
    CONTINUITY = "continuity"


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One problem found in a feed: a stable rule id, a severity, a JSON path and a bilingual message."""

    rule: str
    severity: Severity
    layer: Layer
    path: str
    message: str
    message_en: str

    def as_error(self) -> dict[str, object]:
        """The finding as an error payload (the ``errors`` of a problem document)."""
        return {
            "path": self.path,
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "message_en": self.message_en,
        }


class Report(msgspec.Struct, kw_only=True):
    """The outcome of validating one document: every finding of every layer."""

    ruleset_version: str
    spec_version: str | None
    findings: list[Finding]
    sequence: int | None = None
    cut: str | None = None

    @property
    def valid(self) -> bool:
        """True when there is no critical or error finding."""
        return not any(finding.severity.blocking for finding in self.findings)

    def rules(self) -> set[str]:
        """The distinct rule ids found."""
        return {finding.rule for finding in self.findings}

    def count(self, severity: Severity) -> int:
        """How many findings have ``severity``."""
        return sum(1 for finding in self.findings if finding.severity is severity)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data; ``valid`` first."""
        return {
            "valid": self.valid,
            "ruleset_version": self.ruleset_version,
            "spec_version": self.spec_version,
            "cut": self.cut,
            "sequence": self.sequence,
            "counts": {severity.value: self.count(severity) for severity in Severity},
            "findings": [msgspec.to_builtins(finding) for finding in self.findings],
        }
