"""ASGI entry point for ``aggregator serve`` (uvicorn factory): settings from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar

from .app import create_app
from .settings import load_settings

__all__ = ["app_from_environment"]


def app_from_environment() -> Litestar:
    """Build the aggregator app from ``$OGP_AGG_CONFIG`` and ``OGP_AGG_*`` variables (read when called)."""
    config = os.environ.get("OGP_AGG_CONFIG")
    return create_app(load_settings(Path(config) if config else None))
