"""What the library answers: a page of search results, each with highlighted snippets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

__all__ = [
    "Adoption",
    "CommitmentSuggestions",
    "Cooperation",
    "MethodologyView",
    "SearchHit",
    "SearchPage",
    "Suggestion",
]


class SearchHit(msgspec.Struct, kw_only=True):
    """One methodology or commitment found. ``title_html`` and ``snippet_html`` are escaped HTML with
    the matching words in ``<mark>``: everything else a node sent is escaped."""

    kind: str
    cut: str
    commune: str
    key: str
    title: str
    title_html: str
    snippet_html: str
    score: float
    pillars: list[str]
    status: str | None
    progress: float | None
    milestones: int
    completed: int
    evidenced: int
    has_resources: bool
    license: str | None
    synthetic: bool
    version_id: int
    detail: dict[str, Any]


class SearchPage(msgspec.Struct, kw_only=True):
    """A page of results, best first; ``total`` counts the matches, up to the 1,000 that are ranked
    (``total_exact`` false: more match; narrow the query)."""

    query: str
    total: int
    total_exact: bool
    page: int
    limit: int
    hits: list[SearchHit]
    ignored: list[str]  # words left out of the query (stop words, extra terms)


class Suggestion(msgspec.Struct, kw_only=True):
    """Something like what a commune plans, done elsewhere: the entry, its score and why it ranks high."""

    hit: SearchHit
    score: float
    reasons: list[str]  # same_region, same_subdere_group, completed_with_evidence, has_resources


class CommitmentSuggestions(msgspec.Struct, kw_only=True):
    """One of the commune's current commitments and who elsewhere already did something like it."""

    key: str
    title: str
    suggestions: list[Suggestion]


class Adoption(msgspec.Struct, kw_only=True):
    """One adopted_from link: verified when the methodology it names is in that commune's harvested feed."""

    adopter_cut: str
    adopter_commune: str
    adopter_key: str
    adopter_title: str
    source_cut: str
    source_commune: str
    source_key: str
    source_title: str | None  # None: not found there (flagged)
    verified: bool
    adopted_since: datetime | None  # when the adopting methodology was first harvested


class MethodologyView(msgspec.Struct, kw_only=True):
    """A methodology with who adopted it and where it came from (lineage: its source, that one's, …)."""

    cut: str
    commune: str
    key: str
    title: str
    summary: str
    pillars: list[str]
    has_resources: bool
    license: str | None
    synthetic: bool
    detail: dict[str, Any]
    adopted_by: list[Adoption]
    lineage: list[Adoption]
    # The accepted version whose signed bytes hold this methodology as it stands now (a full feed, or the
    # change page that last changed it): with the commune's keys, anyone can check the text offline.
    signed_version_id: int | None


class Cooperation(msgspec.Struct, kw_only=True):
    """A commune's record of cooperation."""

    cut: str
    methodologies: int
    adopted: list[Adoption]
    adopted_by_others: list[Adoption]
    adopted_verified: int
    adopted_flagged: int
    communes_that_adopted_from_it: int
