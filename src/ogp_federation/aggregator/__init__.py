"""The association's aggregator: registry, verified harvesting with full history, status and read API."""

from __future__ import annotations

from .app import create_app
from .settings import AggregatorSettings, load_settings

__all__ = ["AggregatorSettings", "create_app", "load_settings"]
