"""ASGI entry point for ``node serve`` (uvicorn factory): settings from ``$OGP_NODE_CONFIG``."""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar

from ogp_federation.core.logs import configure_logging

from .app import create_app
from .settings import load_settings

__all__ = ["app_from_environment"]


def app_from_environment() -> Litestar:
    """The node app from the settings file named by ``OGP_NODE_CONFIG`` (read when called); logs configured."""
    settings = load_settings(Path(os.environ.get("OGP_NODE_CONFIG", "node.toml")))
    configure_logging(json=settings.json_logs)  # in each worker process: uvicorn starts them afresh
    return create_app(settings)
