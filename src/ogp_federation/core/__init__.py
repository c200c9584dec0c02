"""Shared plumbing: the error hierarchy, database helpers and HTTP problem responses."""

from __future__ import annotations

from .errors import FetchError, OGPError, SignatureError

__all__ = ["FetchError", "OGPError", "SignatureError"]
