"""ASGI entry point for ``node serve`` (uvicorn factory): settings from ``$OGP_NODE_CONFIG``."""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar

from .app import create_app
from .settings import load_settings

__all__ = ["app_from_environment"]


def app_from_environment() -> Litestar:
    """Build the node app from the settings file named by ``OGP_NODE_CONFIG`` (read when called)."""
    return create_app(load_settings(Path(os.environ.get("OGP_NODE_CONFIG", "node.toml"))))
