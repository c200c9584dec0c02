"""The commune node: publishes the commune's plan as a signed Plan Feed, with an admin API and citizen page."""

from __future__ import annotations

from .app import create_app
from .settings import NodeSettings, load_settings

__all__ = ["NodeSettings", "create_app", "load_settings"]
