"""``ogp-federation node check``: the conformance checks of a node, live or exported as a static folder."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec

from ogp_federation.core.i18n import cli_language

from ._io import EXIT_INVALID, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from ogp_federation.conformance import Report

__all__ = ["check_command"]

MARKS = {"pass": "✔", "fail": "✖", "skip": "–"}
LEVELS = {"full": "completo", "basic": "básico", "none": "no conforme"}


@click.command("check")
@click.argument("target")
@click.option("--cut", help="El CUT que debe publicar / the CUT it must publish.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Salida / output.",
)
def check_command(target: str, cut: str | None, output: str) -> None:
    """Revisar un nodo / check a node (an http(s) URL, or a static export's folder) against the protocol.

    Descriptor, feed (ETag and 304, gzip), signature and keys, key endorsement, change pages, validity,
    clock, TLS, time and size: each check with an id, a severity and how to fix it. Exit 0 when the node
    conforms (level basic or full), 1 when an error-level check fails, 2 on a usage error.
    """
    report = asyncio.run(_check(target, cut))
    if output == "json":
        click.echo(json.dumps(msgspec.to_builtins(report), ensure_ascii=False, indent=2))
    else:
        _print(report)
    sys.exit(EXIT_INVALID if report.level == "none" else EXIT_OK)


async def _check(target: str, cut: str | None) -> Report:
    # imported here, not at the top: keep `--help` fast
    from ogp_federation.conformance import FolderSource, HttpSource, check_node  # noqa: PLC0415
    from ogp_federation.feed.protocol import DESCRIPTOR_PATH, FEED_PATH, NodeDescriptor  # noqa: PLC0415

    if target.startswith(("http://", "https://")):
        source = HttpSource()
        try:
            return await check_node(source, target, cut=cut)
        finally:
            await source.close()
    folder = Path(target)
    descriptor_file = folder / DESCRIPTOR_PATH.lstrip("/")
    if not descriptor_file.is_file():
        click.echo(f"{target}: no es una URL http(s) ni una carpeta con {DESCRIPTOR_PATH}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        descriptor = msgspec.json.decode(descriptor_file.read_bytes(), type=NodeDescriptor)
        base = descriptor.feed_url.removesuffix(FEED_PATH)
    except msgspec.DecodeError:
        base = "https://static.invalid"  # the check of the descriptor says what is wrong with it
    return await check_node(FolderSource(folder, base), base, cut=cut)


def _print(report: Report) -> None:
    lang = cli_language()
    english = lang.locale == "en"
    for check in report.checks:
        title = check.title_en if english else check.title
        click.echo(f"{MARKS[check.status]} {check.id:<17} {title}")
        if check.detail:
            click.echo(f"    {check.detail}")
        if check.status == "fail":
            click.echo(f"    → {check.fix_en if english else check.fix}")
    level = report.level if english else LEVELS[report.level]
    click.echo(lang.gettext("nivel de conformidad: {level}", level=level))
