"""``ogp-federation aggregator search``: the methodology library from the command line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from ogp_federation.core.i18n import cli_language

from ._aggregator import config_option, with_runtime
from .node import _run

__all__ = ["LIBRARY_COMMANDS"]

_MARK = re.compile(r"</?mark>")


def _plain(snippet: str) -> str:
    """A highlighted HTML snippet for a terminal: matches in brackets, entities decoded."""
    import html  # noqa: PLC0415

    return html.unescape(_MARK.sub(lambda m: "]" if m.group().startswith("</") else "[", snippet))


@click.command("search")
@config_option
@click.argument("query")
@click.option("--kind", type=click.Choice(["methodology", "commitment"]), help="Solo un tipo / one kind only.")
@click.option("--pillar", help="Pilar (código del estándar) / pillar (the standard's code).")
@click.option("--region", help="Región (código de 2 dígitos) / region (2-digit code).")
@click.option("--page", type=int, default=1, show_default=True, help="Página / page.")
@click.option("--json", "as_json", is_flag=True, help="Salida JSON / JSON output.")
@_run
async def search(
    config_path: Path | None,
    query: str,
    kind: str | None,
    pillar: str | None,
    region: str | None,
    page: int,
    as_json: bool,
) -> None:
    """Buscar en la biblioteca de metodologías / search every commune's methodologies and commitments."""
    from ogp_federation.aggregator.library import Filters  # noqa: PLC0415

    filters = Filters(kind=kind, pillar=pillar, region=region)
    result: Any = await with_runtime(config_path, lambda runtime: runtime.library.search(query, filters, page=page))
    if as_json:
        import msgspec  # noqa: PLC0415

        click.echo(msgspec.json.encode(result).decode())
        return
    lang = cli_language()
    click.echo(lang.ngettext("{count} resultado", "{count} resultados", result.total))
    kinds = {"methodology": lang.gettext("metodología"), "commitment": lang.gettext("compromiso")}
    for hit in result.hits:
        marks = " ~" if hit.synthetic else ""
        click.echo(f"\n{kinds[hit.kind]} · {hit.commune} ({hit.cut}) · {hit.key}{marks}")
        click.echo(f"  {_plain(hit.title_html)}")
        click.echo(f"  {_plain(hit.snippet_html)}")
        if hit.kind == "commitment":
            click.echo(
                lang.gettext(
                    "  avance {progress} % · {completed} de {milestones} hitos cumplidos, {evidenced} con evidencia",
                    progress=lang.number(round(hit.progress or 0, 1)),
                    completed=hit.completed,
                    milestones=hit.milestones,
                    evidenced=hit.evidenced,
                )
            )
        contact = hit.detail.get("contact") or {}
        if contact.get("email") or contact.get("name"):
            click.echo(lang.gettext("  contacto: {contact}", contact=contact.get("email") or contact.get("name")))


@click.command("suggest")
@config_option
@click.argument("cut")
@_run
async def suggest(config_path: Path | None, cut: str) -> None:
    """Quién ya lo hizo, para cada compromiso de CUT / who already did each of CUT's commitments."""
    result: Any = await with_runtime(config_path, lambda runtime: runtime.library.suggestions(cut))
    lang = cli_language()
    for commitment in result:
        click.echo(f"\n{commitment.title} ({commitment.key})")
        if not commitment.suggestions:
            click.echo(lang.gettext("  (nada parecido en otras comunas todavía)"))
        for item in commitment.suggestions:
            hit = item.hit
            click.echo(f"  · {hit.commune} ({hit.cut}) — {_plain(hit.title_html)}")
            contact = hit.detail.get("contact") or {}
            if contact.get("email"):
                click.echo(lang.gettext("    contacto: {contact}", contact=contact["email"]))


LIBRARY_COMMANDS = [search, suggest]
