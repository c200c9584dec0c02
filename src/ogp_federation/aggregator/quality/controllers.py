"""Read API of the quality scores: the methodology, and a commune's score with its history and gaps."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from ogp_federation.aggregator.common.params import CutPath

from .schemas import MethodologyView, QualityView
from .service import QualityService

__all__ = ["HANDLERS"]

Quality = NamedDependency[QualityService]


@get("/api/v1/quality/methodology", tags=["quality"], sync_to_thread=False)
def methodology(quality: Quality) -> MethodologyView:
    """The data-quality methodology in use: its version, component weights and measures."""
    return quality.methodology()


@get("/api/v1/communes/{cut:str}/quality", tags=["quality"])
async def commune_quality(quality: Quality, cut: CutPath) -> QualityView:
    """A commune's latest data-quality score, what would raise it, and its daily history."""
    return await quality.quality(cut)


HANDLERS = [methodology, commune_quality]
