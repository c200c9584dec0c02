"""Chile's time: the federation's days (scores, daily jobs, status times) are continental Chile's."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = ["CHILE", "chile_day"]

CHILE = ZoneInfo("America/Santiago")  # continental Chile: UTC-4 in winter, UTC-3 in summer


def chile_day(moment: datetime) -> date:
    """Chile's date at ``moment``."""
    return moment.astimezone(CHILE).date()
