"""The methodology library: every commune's methodologies and commitments, searchable in Spanish."""

from __future__ import annotations

from .models import LibraryEntry
from .schemas import SearchHit, SearchPage
from .service import Filters, LibraryService

__all__ = ["Filters", "LibraryEntry", "LibraryService", "SearchHit", "SearchPage"]
