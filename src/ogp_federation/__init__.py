"""ogp-federation: the federation of local Open Government action plans of Chile's communes."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ogp-federation")
except PackageNotFoundError:  # Running from a source tree that was never installed.
    __version__ = "0.0.0"

__all__ = ["__version__"]
