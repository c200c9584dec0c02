"""ASGI entry point for ``aggregator serve`` (uvicorn factory): settings from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar

from ogp_federation.core.logs import configure_logging

from .app import create_app
from .common import load_settings

__all__ = ["app_from_environment"]


def app_from_environment() -> Litestar:
    """The aggregator app from ``$OGP_AGG_CONFIG`` and ``OGP_AGG_*`` variables (read when called); logs configured."""
    config = os.environ.get("OGP_AGG_CONFIG")
    settings = load_settings(Path(config) if config else None)
    configure_logging(json=settings.json_logs)
    return create_app(settings)
