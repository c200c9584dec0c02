"""What the aggregator's commands share: the settings option and a runtime for one command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["CONFIG_ENV", "config_option", "settings", "with_runtime"]

T = TypeVar("T")
CONFIG_ENV = "OGP_AGG_CONFIG"

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=CONFIG_ENV,
    help="Archivo de configuración (sección [aggregator]); las variables OGP_AGG_* lo reemplazan. / "
    "Settings file ([aggregator] section); OGP_AGG_* variables override it.",
)


def settings(config_path: Path | None) -> Any:
    """The aggregator's settings from ``config_path`` and the environment."""
    from ogp_federation.aggregator.common import load_settings  # noqa: PLC0415 (keep --help fast)

    return load_settings(config_path)


async def with_runtime(config_path: Path | None, action: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``action`` with an aggregator runtime, stopped afterwards."""
    from ogp_federation.aggregator.runtime import AggregatorRuntime  # noqa: PLC0415

    runtime = AggregatorRuntime(settings(config_path))
    try:
        return await action(runtime)
    finally:
        await runtime.stop()
