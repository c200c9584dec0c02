"""The federation indicator catalogue: what is compared, defined once for every commune (package data).

Part of the standard since Plan Feed 1.1: an indicator a commune publishes may name the catalogue
indicator it measures (``catalogue_code``), and its observations then enter the federation's
comparisons.
"""

from __future__ import annotations

import tomllib
from functools import cache, cached_property
from importlib.resources import files
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .enums import Pillar

__all__ = ["CATALOGUE_CODE", "CATALOGUE_FILE", "Catalogue", "CatalogueIndicator", "catalogue"]

CATALOGUE_FILE = "indicator-catalogue-v1.toml"
CATALOGUE_CODE = r"^[a-z][a-z0-9_]{1,62}\Z"
Code = Annotated[str, Meta(pattern=CATALOGUE_CODE)]


class CatalogueIndicator(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One indicator of the catalogue."""

    code: Code
    name_es: str
    name_en: str
    definition_es: str
    definition_en: str
    unit: str
    direction: Literal["higher_better", "lower_better", "neutral"]
    pillar: Pillar
    kind: Literal["derived", "published"]
    formula: str
    period: Literal["month", "quarter", "year"]
    min_denominator: Annotated[int, Meta(ge=0)]
    reference: str | None = None


class Catalogue(msgspec.Struct, frozen=True, forbid_unknown_fields=True, dict=True):
    """A version of the catalogue."""

    version: str
    indicator: list[CatalogueIndicator]

    def get(self, code: str) -> CatalogueIndicator | None:
        """The indicator ``code``, or None."""
        return self._by_code.get(code)

    @cached_property
    def _by_code(self) -> dict[str, CatalogueIndicator]:
        """The indicators by code (every validation and comparison looks codes up)."""
        out: dict[str, CatalogueIndicator] = {}
        for item in self.indicator:
            out.setdefault(item.code, item)  # the first of a repeated code, as a search would find
        return out


@cache
def catalogue() -> Catalogue:
    """The catalogue shipped with the package (validated: unique codes, known pillars and units)."""
    raw = (files("ogp_federation.feed") / "data" / CATALOGUE_FILE).read_text(encoding="utf-8")
    loaded = msgspec.convert(tomllib.loads(raw), Catalogue)
    codes = [item.code for item in loaded.indicator]
    if len(set(codes)) != len(codes):
        raise ValueError(f"duplicate indicator codes in {CATALOGUE_FILE}")
    return loaded
