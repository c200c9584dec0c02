"""Shared plumbing: the error hierarchy and (later) settings, logging and database helpers."""

from __future__ import annotations

from .errors import FetchError, OGPError, SignatureError

__all__ = ["FetchError", "OGPError", "SignatureError"]
