"""The library's index: one row per methodology and per commitment of every commune's current version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from ogp_federation.aggregator.common import AggregatorBase
from ogp_federation.core.db import JSON_DOCUMENT

__all__ = ["SEARCH_CONFIGURATION", "LibraryAdoption", "LibraryEntry"]

# PostgreSQL indexes the stems computed in Python (``text.stems``): its ``simple`` configuration keeps them.
SEARCH_CONFIGURATION = "simple"


class LibraryEntry(AggregatorBase):
    """A methodology or a commitment as the library shows and searches it.

    ``title`` weighs most, then ``summary`` (summary and problem), then ``body`` (steps, resources,
    actions, milestones and their evidence). On PostgreSQL ``search`` holds the weighted ``tsvector``;
    on SQLite the stems live in the FTS5 table ``library_fts`` (same row id). PostgreSQL also indexes the
    titles' part of ``search`` on its own (``ix_library_entries_title``, migration 0010).
    """

    __tablename__ = "library_entries"
    __table_args__ = (
        UniqueConstraint("cut", "kind", "key"),
        Index("ix_library_entries_cut", "cut"),
        Index("ix_library_entries_search", "search", postgresql_using="gin"),  # (unused on SQLite: FTS5)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cut: Mapped[str] = mapped_column(String(5))
    kind: Mapped[str] = mapped_column(String(12))  # methodology | commitment
    key: Mapped[str] = mapped_column(String(128))
    version_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    pillars: Mapped[str] = mapped_column(String(200))  # " pillar pillar " (a filter reads it with LIKE)
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    milestones: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    evidenced: Mapped[int] = mapped_column(Integer, default=0)
    has_resources: Mapped[bool] = mapped_column(Boolean, default=False)
    license: Mapped[str | None] = mapped_column(String(200), nullable=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)  # evidence, contact, adopted_from, …
    search: Mapped[Any] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"), nullable=True)


class LibraryAdoption(AggregatorBase):
    """One ``adopted_from`` link of a current methodology: who took it, from whom (kept with the entries)."""

    __tablename__ = "library_adoptions"
    __table_args__ = (
        Index("ix_library_adoptions_source", "source_cut", "source_key"),
        Index("ix_library_adoptions_adopter", "adopter_cut"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    adopter_cut: Mapped[str] = mapped_column(String(5))
    adopter_key: Mapped[str] = mapped_column(String(128))
    source_cut: Mapped[str] = mapped_column(String(5))
    source_key: Mapped[str] = mapped_column(String(128))
