"""The association's aggregator: registry, verified harvesting with full history, review, status and read API.

Sub-contexts, each with the same inner shape (``service``, ``controllers``, ``schemas``, ``models``):
``registry``, ``harvest``, ``history``, ``review``, ``status``; ``net`` (outbound requests) and
``common`` (settings, the tables' base, guards) are what they build on. ``runtime`` wires them;
``app`` serves them. See ``docs/architecture.md``.
"""

from __future__ import annotations

from .app import create_app
from .common import AggregatorSettings, load_settings

__all__ = ["AggregatorSettings", "create_app", "load_settings"]
