"""The federation indicator catalogue, as the benchmarks use it (it belongs to the standard: ``feed.catalogue``)."""

from __future__ import annotations

from ogp_federation.feed.catalogue import CATALOGUE_FILE, Catalogue, CatalogueIndicator, catalogue

__all__ = ["CATALOGUE_FILE", "Catalogue", "CatalogueIndicator", "catalogue"]
