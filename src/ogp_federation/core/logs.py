"""Structured logs (structlog): one event per line, key=value for people or JSON for collectors.

Configured by the processes that own their output (``aggregator serve``/``work``); a library import
configures nothing.
"""

from __future__ import annotations

import logging

import structlog

__all__ = ["configure_logging", "get_logger"]


def configure_logging(*, json: bool = False, level: int = logging.INFO) -> None:
    """Route structlog events to stdout with a timestamp and level, as JSON lines or key=value."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.types.FilteringBoundLogger:
    """A structured logger for ``name``."""
    logger: structlog.types.FilteringBoundLogger = structlog.get_logger(name)
    return logger
