"""``ogp-federation aggregator compare|profile|benchmarks``: comparisons from the command line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ogp_federation.core.i18n import cli_language

from ._aggregator import config_option, with_runtime
from .node import _run

__all__ = ["BENCHMARK_COMMANDS"]

GROUP_HELP = (
    "Grupo de pares / peer group: todas, region:13, provincia:131, subdere:3, poblacion:2, grupo:X, similares:CUT."
)
AS_OF_HELP = "Como se sabía en ese momento (RFC 3339 con huso) / as known at that moment (RFC 3339 with offset)."


def _moment(as_of: str | None) -> datetime | None:
    if as_of is None:
        return None
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError as exc:
        raise click.BadParameter(cli_language().gettext("no es una fecha RFC 3339: {value}", value=as_of)) from exc
    if moment.tzinfo is None:
        raise click.BadParameter(cli_language().gettext("falta el huso horario (…Z o …-03:00)"))
    return moment


def _number(value: float | None) -> str:
    return "—" if value is None else cli_language().number(round(value, 2))


@click.command("compare")
@config_option
@click.argument("code")
@click.option("--period", help="2025 (año / year); por omisión, el último / default: the latest.")
@click.option("--group", default="todas", show_default=True, help=GROUP_HELP)
@click.option("--cut", help="Comuna a destacar / commune to mark (CUT).")
@click.option("--as-of", "as_of", help=AS_OF_HELP)
@click.option("--json", "as_json", is_flag=True, help="Salida JSON / JSON output.")
@_run
async def compare(
    config_path: Path | None,
    code: str,
    period: str | None,
    group: str,
    cut: str | None,
    as_of: str | None,
    as_json: bool,
) -> None:
    """Comparar un indicador en un grupo de pares / compare an indicator across a peer group."""
    moment = _moment(as_of)
    result: Any = await with_runtime(
        config_path,
        lambda runtime: runtime.benchmarks.compare(code, period=period, group=group, cut=cut, as_of=moment),
    )
    if as_json:
        import msgspec  # noqa: PLC0415

        click.echo(msgspec.json.encode(result).decode())
        return
    lang = cli_language()
    name = result.name_en if lang.locale == "en" else result.name_es
    d = result.distribution
    click.echo(f"{name} ({result.code}) — {result.period} — {result.group}")
    click.echo(
        lang.gettext(
            "{reporting} de {members} comunas con valor ({coverage} %)",
            reporting=result.reporting,
            members=result.members,
            coverage=_number(100 * result.coverage),
        )
    )
    click.echo(
        f"min {_number(d.min)} · p10 {_number(d.p10)} · q1 {_number(d.q1)} · "
        + lang.gettext("mediana")
        + f" {_number(d.median)} · q3 {_number(d.q3)} · p90 {_number(d.p90)} · max {_number(d.max)} · "
        + lang.gettext("promedio")
        + f" {_number(d.mean)} ({result.unit})"
    )
    for value in result.values:
        marks = (
            (" *" if value.provisional else "") + (" !" if value.outlier else "") + (" ~" if value.synthetic else "")
        )
        rank = "" if value.rank is None else f"{value.rank:>3}."
        click.echo(f"{rank:>4} {value.cut} {value.name:<28} {_number(value.value):>10}{marks}")
    click.echo(lang.gettext("* provisional · ! atípico (fuera de las cercas de Tukey)"))
    if result.synthetic:
        click.echo(
            lang.ngettext(
                "~ sintético: {count} valor viene de datos de prueba generados",
                "~ sintético: {count} valores vienen de datos de prueba generados",
                result.synthetic,
            )
        )
    if result.commune is not None:
        standing = result.commune
        click.echo(
            lang.gettext(
                "{cut}: valor {value}, posición {rank}, mejor que el {better} % de sus pares, tendencia {trend}",
                cut=standing.cut,
                value=_number(standing.value),
                rank=standing.rank or "—",
                better=_number(standing.better_than_percent),
                trend=standing.trend or "—",
            )
        )


@click.command("profile")
@config_option
@click.argument("cut")
@click.option("--group", default="todas", show_default=True, help=GROUP_HELP)
@click.option("--as-of", "as_of", help=AS_OF_HELP)
@_run
async def profile(config_path: Path | None, cut: str, group: str, as_of: str | None) -> None:
    """Todos los indicadores de una comuna frente a su grupo / every indicator of a commune against its group."""
    moment = _moment(as_of)
    result: Any = await with_runtime(
        config_path, lambda runtime: runtime.benchmarks.profile(cut, group=group, as_of=moment)
    )
    lang = cli_language()
    click.echo(f"{result.name} ({result.cut}) — {result.group}")
    if result.synthetic:
        click.echo(lang.gettext("(datos sintéticos: no es el plan real de la comuna)"))
    for entry in result.indicators:
        name = entry.name_en if lang.locale == "en" else entry.name_es
        standing = entry.standing
        value = _number(standing.value if standing else None)
        median = _number(entry.distribution.median if entry.distribution else None)
        note = (entry.note_en if lang.locale == "en" else entry.note_es) or ""
        shown = lang.gettext("mediana del grupo {median}", median=median)
        click.echo(f"{entry.period or '—':>6}  {name[:44]:<44} {value:>10} {entry.unit:<10} {shown}  {note}".rstrip())


@click.group("benchmarks")
def benchmarks_group() -> None:
    """Almacén de comparaciones / the comparisons' store."""


@benchmarks_group.command("rebuild")
@config_option
@_run
async def rebuild(config_path: Path | None) -> None:
    """Recalcular desde toda la historia / recompute the store from the whole accepted history."""
    rows = await with_runtime(config_path, lambda runtime: runtime.benchmarks.rebuild())
    click.echo(cli_language().ngettext("{count} valor en el almacén", "{count} valores en el almacén", rows))


BENCHMARK_COMMANDS = [compare, profile, benchmarks_group]
