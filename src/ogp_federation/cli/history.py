"""``ogp-federation aggregator records|versions|diff|events``: the harvested history, read through its service.

Each command prints JSON Lines (one item a line) and, when there is more, the cursor of the next
page on standard error; ``--all`` follows the cursors to the end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import msgspec

from ogp_federation.core.i18n import cli_language
from ogp_federation.feed.entities import COLLECTIONS

from ._aggregator import config_option, with_runtime
from .node import _run

__all__ = ["HISTORY_COMMANDS"]

ENTITIES = tuple(collection.entity.value for collection in COLLECTIONS)
_ENCODER = msgspec.json.Encoder()

paging = [
    click.option(
        "--limit", type=click.IntRange(1, 5000), default=500, show_default=True, help="Por página / per page."
    ),
    click.option("--cursor", help="Continuar desde este cursor / continue from this cursor."),
    click.option("--all", "every", is_flag=True, help="Seguir hasta la última página / follow to the last page."),
]


def _paged(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(paging):
        function = option(function)
    return function


async def _print_pages(
    config_path: Path | None, read: Callable[[Any, str | None], Awaitable[Any]], cursor: str | None, every: bool
) -> None:
    async def run(runtime: Any) -> None:
        position = cursor
        while True:
            page = await read(runtime, position)
            for item in page.items:
                click.echo(_ENCODER.encode(item).decode())
            position = page.next
            if position is None or not every:
                break
        if position is not None:
            click.echo(cli_language().gettext("siguiente: --cursor {cursor}", cursor=position), err=True)

    await with_runtime(config_path, run)


@click.command("records")
@config_option
@click.argument("cut")
@click.option("--entity", type=click.Choice(ENTITIES), required=True, help="Colección / collection.")
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d%z"]),
    help="Como estaban en ese momento, con huso / as of this moment, with its offset.",
)
@click.option("--sequence", type=click.IntRange(0, 2**53), help="Como estaban en esta secuencia / as of this sequence.")
@_paged
@_run
async def records(
    config_path: Path | None,
    cut: str,
    entity: str,
    as_of: datetime | None,
    sequence: int | None,
    limit: int,
    cursor: str | None,
    every: bool,
) -> None:
    """Registros de una colección / a commune's records of one collection: now, as of a moment or a sequence.

    A commune's records of one collection: now, as of a moment (--as-of with its UTC offset, e.g.
    2026-11-30T12:00:00-0300) or as of a sequence. JSON Lines.
    """
    await _print_pages(
        config_path,
        lambda runtime, position: runtime.history.records(
            cut,
            entity,
            as_of=as_of if position is None else None,
            sequence=sequence if position is None else None,
            cursor=position,
            limit=limit,
        ),
        cursor,
        every,
    )


@click.command("versions")
@config_option
@click.argument("cut")
@_paged
@_run
async def versions(config_path: Path | None, cut: str, limit: int, cursor: str | None, every: bool) -> None:
    """Versiones cosechadas de una comuna, la más antigua primero / a commune's harvested versions, oldest first."""
    await _print_pages(
        config_path,
        lambda runtime, position: runtime.history.versions(cut, cursor=position, limit=limit),
        cursor,
        every,
    )


@click.command("diff")
@config_option
@click.argument("cut")
@click.argument("since", type=click.IntRange(0, 2**53))
@click.argument("until", type=click.IntRange(0, 2**53))
@_paged
@_run
async def diff(
    config_path: Path | None, cut: str, since: int, until: int, limit: int, cursor: str | None, every: bool
) -> None:
    """Qué cambió entre dos secuencias / what changed between sequences SINCE and UNTIL (added, changed, deleted)."""
    await _print_pages(
        config_path,
        lambda runtime, position: runtime.history.diff(cut, since, until, cursor=position, limit=limit),
        cursor,
        every,
    )


@click.command("events")
@config_option
@click.argument("cut")
@_paged
@_run
async def events(config_path: Path | None, cut: str, limit: int, cursor: str | None, every: bool) -> None:
    """Historial de lecturas del nodo, la más reciente primero / the node's poll history, newest first."""
    await _print_pages(
        config_path,
        lambda runtime, position: runtime.history.events(cut, cursor=position, limit=limit),
        cursor,
        every,
    )


HISTORY_COMMANDS = [records, versions, diff, events]
