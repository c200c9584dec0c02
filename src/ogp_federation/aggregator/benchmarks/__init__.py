"""Benchmarks: the indicator catalogue, indicators derived from the plans, the analytic store, comparisons."""

from __future__ import annotations

from .catalogue import Catalogue, CatalogueIndicator, catalogue
from .derive import Derived, derive
from .models import BenchObservation
from .schemas import Comparison, Profile
from .service import BenchmarkService

__all__ = [
    "BenchObservation",
    "BenchmarkService",
    "Catalogue",
    "CatalogueIndicator",
    "Comparison",
    "Derived",
    "Profile",
    "catalogue",
    "derive",
]
