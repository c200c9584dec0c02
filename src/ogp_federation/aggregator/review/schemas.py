"""What the review shows and answers: versions held in quarantine, and the decision taken on one."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["Decision", "QuarantinedView"]


class QuarantinedView(msgspec.Struct, kw_only=True):
    """A version held for review: whose, which sequence, when it was fetched and why it is held."""

    id: int
    cut: str
    sequence: int
    fetched_at: datetime
    reason: str | None


class Decision(msgspec.Struct, kw_only=True):
    """What became of a quarantined version."""

    id: int
    status: str  # accepted | discarded
