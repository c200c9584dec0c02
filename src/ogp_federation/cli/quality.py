"""``ogp-federation aggregator quality``: publishers' data-quality scores from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ogp_federation.core.i18n import cli_language

from ._aggregator import config_option, with_runtime
from .node import _run

__all__ = ["QUALITY_COMMANDS"]


def _number(value: float | None) -> str:
    return "—" if value is None else cli_language().number(round(value, 1))


@click.command("quality")
@config_option
@click.argument("cut", required=False)
@click.option(
    "--compute",
    is_flag=True,
    help="Calcular primero el puntaje de hoy (de CUT, o de todas) / first compute today's score (of CUT, or of all).",
)
@click.option("--json", "as_json", is_flag=True, help="Salida JSON / JSON output.")
@_run
async def quality(config_path: Path | None, cut: str | None, compute: bool, as_json: bool) -> None:
    """Puntaje de calidad de datos de una comuna / a commune's data-quality score."""
    lang = cli_language()
    if cut is None and not compute:
        raise click.UsageError(lang.gettext("indique una comuna (CUT) o --compute"))

    async def action(runtime: Any) -> Any:
        if compute:
            written = await runtime.quality.compute(cuts=None if cut is None else [cut])
            click.echo(lang.ngettext("{count} comuna puntuada", "{count} comunas puntuadas", written))
        return None if cut is None else await runtime.quality.quality(cut)

    result = await with_runtime(config_path, action)
    if result is None:
        return
    if as_json:
        import msgspec  # noqa: PLC0415

        click.echo(msgspec.json.encode(result).decode())
        return
    english = lang.locale == "en"
    click.echo(
        lang.gettext(
            "{name} ({cut}) — puntaje {overall} de 100 — {day}, metodología {version}",
            name=result.name,
            cut=result.cut,
            overall=_number(result.overall),
            day=result.day.isoformat(),
            version=result.methodology,
        )
    )
    if result.synthetic:
        click.echo(lang.gettext("(datos sintéticos: no es el plan real de la comuna)"))
    for component in result.components:
        name = component.name_en if english else component.name_es
        weight = _number(100 * component.weight)
        click.echo(f"  {name:<16} {_number(component.value):>6}  ({weight} %)")
        for measure in component.measures:
            label = measure.name_en if english else measure.name_es
            click.echo(f"    {label:<40} {_number(measure.value):>6}")
    if result.gaps:
        click.echo(lang.gettext("Qué subiría el puntaje:"))
    for gap in result.gaps:
        fix = gap.fix_en if english else gap.fix_es
        click.echo(lang.gettext("  +{points} puntos: {fix}", points=_number(gap.points), fix=fix))
        for item in gap.items[:10]:
            click.echo(f"      · {item}")
        if gap.count > 10:
            click.echo(lang.ngettext("      … y {count} más", "      … y {count} más", gap.count - 10))
    if len(result.history) > 1:
        click.echo(lang.gettext("Historia (más reciente primero):"))
        for point in result.history[:14]:
            click.echo(f"  {point.day.isoformat()}  {_number(point.overall):>6}  ({point.methodology})")


QUALITY_COMMANDS = [quality]
