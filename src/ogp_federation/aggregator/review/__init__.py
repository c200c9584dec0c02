"""The review: versions the harvest held in quarantine (a mass deletion, a sequence back), decided by operators."""

from __future__ import annotations

from .schemas import Decision, QuarantinedView
from .service import ReviewService

__all__ = ["Decision", "QuarantinedView", "ReviewService"]
