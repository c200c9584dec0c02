"""What the library answers: a page of search results, each with highlighted snippets."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["SearchHit", "SearchPage"]


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
    """A page of results, best first; ``total`` counts every match."""

    query: str
    total: int
    page: int
    limit: int
    hits: list[SearchHit]
    ignored: list[str]  # words left out of the query (stop words, extra terms)
