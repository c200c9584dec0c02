"""Publisher data-quality scores: a versioned methodology, computed daily, kept as history, explained."""

from __future__ import annotations

from .methodology import VERSION, Facts, Score, score
from .models import QualityScore
from .schemas import MethodologyView, QualityView
from .service import QualityService

__all__ = ["VERSION", "Facts", "MethodologyView", "QualityScore", "QualityService", "QualityView", "Score", "score"]
