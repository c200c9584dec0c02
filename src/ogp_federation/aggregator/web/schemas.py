"""What the dashboard's pages show that no other context answers: the month's activity, who is behind."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Behind", "MonthActivity"]


@dataclass(frozen=True)
class MonthActivity:
    """What happened in the federation since the month began."""

    versions: int
    communes: int
    milestones_completed: int
    new_methodologies: int


@dataclass(frozen=True)
class Behind:
    """A commune and how many of its milestones are past due and not completed."""

    cut: str
    name: str
    overdue: int
    open: int
