"""The dashboard: the federation's pages for the association, communes and citizens (es-CL and English)."""

from __future__ import annotations

from .service import WebService

__all__ = ["WebService"]
