"""Structured logs (structlog): one event per line, key=value for people or JSON for collectors.

Configured by the processes that own their output (``aggregator serve``/``work``, ``node serve``, the
demo); a library import configures nothing. The standard library's records (uvicorn, Alembic,
APScheduler, the modules that use :mod:`logging`) go through the same renderer, so a collector reads one
format.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

__all__ = ["QUIET_LOGGERS", "configure_logging", "get_logger"]

# Libraries that log routine work at INFO: a scheduler job run every second, a migration context opened
# by every readiness probe. Their warnings and errors still show.
QUIET_LOGGERS = ("apscheduler", "alembic.runtime.migration")


def configure_logging(*, json: bool = False, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Route structlog events and standard ``logging`` records to ``stream`` (stdout), as JSON lines or key=value."""
    shared: list[structlog.types.Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[structlog.types.Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if json
        else [structlog.dev.ConsoleRenderer(colors=False)]
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def get_logger(name: str) -> structlog.types.FilteringBoundLogger:
    """A structured logger for ``name``."""
    logger: structlog.types.FilteringBoundLogger = structlog.get_logger(name)
    return logger
