"""What the status context shows: each commune's node health, and the federation's counts."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["FederationStatus", "LastError", "StatusRow"]


class LastError(msgspec.Struct, kw_only=True):
    """A node's last poll error: its stable code, what it means in Spanish, the English detail, when."""

    code: str
    explanation_es: str | None
    message: str | None
    at: datetime | None


class StatusRow(msgspec.Struct, kw_only=True):
    """One commune and its node's health (``not_publishing`` when it has no node)."""

    cut: str
    name: str
    region: str
    state: str
    state_es: str
    sequence: int | None
    last_success_at: datetime | None
    last_error: LastError | None
    failing_since: datetime | None
    last_time_to_fix_seconds: int | None


class FederationStatus(msgspec.Struct, kw_only=True):
    """How many communes are in each state, and every commune's row."""

    counts: dict[str, int]
    communes: list[StatusRow]
