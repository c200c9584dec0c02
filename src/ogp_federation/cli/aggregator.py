"""``ogp-federation aggregator``: the association's harvester and its registry."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ogp_federation.core.i18n import cli_language
from ogp_federation.core.process import tune_gc

from ._aggregator import CONFIG_ENV, config_option, with_runtime
from ._aggregator import settings as _settings
from ._io import read_source
from .benchmarks import BENCHMARK_COMMANDS
from .history import HISTORY_COMMANDS
from .library import LIBRARY_COMMANDS
from .node import _run
from .quality import QUALITY_COMMANDS
from .research import RESEARCH_COMMANDS

__all__ = ["aggregator"]


def _json_object(text: bytes | str, where: str) -> dict[str, Any]:
    from ogp_federation.core.errors import InvalidInputError  # noqa: PLC0415

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError("no es JSON", "not JSON", errors=[{"path": where, "message": str(exc)}]) from exc
    if not isinstance(value, dict):
        raise InvalidInputError(
            "se esperaba un objeto JSON",
            "a JSON object was expected",
            errors=[{"path": where, "message": "not an object"}],
        )
    return value


def _or_dash(value: object) -> str:
    return "—" if value is None else str(value)


@click.group()
def aggregator() -> None:
    """Agregador de la asociación / the association's aggregator."""


@aggregator.command("init")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("aggregator.toml"),
    show_default=True,
    help="Archivo de configuración a crear / settings file to create.",
)
@click.option("--database-url", help="postgresql+asyncpg://… (por omisión SQLite junto al archivo / default SQLite).")
@click.option("--public-url", default="http://127.0.0.1:8100", show_default=True, help="Dónde se le encuentra.")
@click.option(
    "--allow-network", "networks", multiple=True, help="Red no pública con nodos (repetible), p. ej. 127.0.0.0/8."
)
@_run
async def init_command(config_path: Path, database_url: str | None, public_url: str, networks: tuple[str, ...]) -> None:
    """Crear configuración y base de datos / create the settings file and the database, seeded with the communes.

    An operator token is printed once; only its hash is written. Then: aggregator node add, or node import.
    """
    from ogp_federation.aggregator.setup import init_aggregator  # noqa: PLC0415

    settings, token = await init_aggregator(
        config_path, database_url=database_url, public_url=public_url, allowed_networks=list(networks)
    )
    lang = cli_language()
    click.echo(lang.gettext("agregador listo: {path} ({database})", path=config_path, database=settings.database_url))
    click.echo(lang.gettext("token de operador (se muestra solo esta vez): {token}", token=token))
    click.echo(
        lang.gettext(
            "siguiente: export {setting}={path}; ogp-federation aggregator node add CUT URL",
            setting=CONFIG_ENV,
            path=config_path.resolve(),
        )
    )


@aggregator.group("db")
def db_group() -> None:
    """Base de datos / database."""


@db_group.command("upgrade")
@config_option
@_run
async def db_upgrade(config_path: Path | None) -> None:
    """Aplicar migraciones y cargar las 346 comunas / apply migrations and seed the 346 communes."""
    from ogp_federation.aggregator.setup import prepare_database  # noqa: PLC0415

    added = await prepare_database(_settings(config_path).database_url)
    click.echo(
        cli_language().ngettext(
            "base de datos al día; {count} comuna agregada", "base de datos al día; {count} comunas agregadas", added
        )
    )


@aggregator.group("node")
def node_group() -> None:
    """Nodos registrados / registered nodes."""


@node_group.command("add")
@config_option
@click.argument("cut")
@click.argument("url")
@click.option("--jwks", help="Pin these public keys (path or URL) instead of fetching them.")
@click.option("--trust-fetched-keys", is_flag=True, help="Confirm the keys fetched from the node right away.")
@click.option("--interval", type=click.IntRange(10), help="Seconds between polls.")
@click.option("--contact-email", help="Who is alerted when the node fails or recovers.")
@click.option("--webhook", help="Webhook alerted when the node fails or recovers.")
@_run
async def node_add(
    config_path: Path | None,
    cut: str,
    url: str,
    jwks: str | None,
    trust_fetched_keys: bool,
    interval: int | None,
    contact_email: str | None,
    webhook: str | None,
) -> None:
    """Registrar el nodo de la comuna CUT en URL / register commune CUT's node at URL.

    URL is a live node or the base URL of a static folder.
    """
    keys = _json_object(read_source(jwks, max_bytes=1024 * 1024), "--jwks") if jwks else None

    async def register(runtime: Any) -> tuple[Any, Any]:
        before = next((n for n in await runtime.registry.nodes() if n.cut == cut), None)
        node = await runtime.registry.add_node(
            cut,
            url,
            jwks=keys,
            trust_fetched_keys=trust_fetched_keys,
            interval=interval,
            contact_email=contact_email,
            webhook_url=webhook,
        )
        return before, node

    before, node = await with_runtime(config_path, register)
    kids = ", ".join(str(k.get("kid")) for k in node.keys.get("keys", []))
    lang = cli_language()
    state = (
        lang.gettext("confirmadas") if node.keys_confirmed else lang.gettext("por confirmar (aggregator node confirm)")
    )
    click.echo(lang.gettext("nodo {cut} registrado: {url}", cut=cut, url=node.feed_url))
    click.echo(lang.gettext("claves: {kids} — {state}", kids=kids, state=state))
    if node.conformance is not None:
        failed = [check for check in node.conformance["checks"] if check["status"] == "fail"]
        english = lang.locale == "en"
        click.echo(lang.gettext("conformidad: {level}", level=node.conformance["level"]))
        for check in failed:
            click.echo(f"  ✖ {check['id']}: {check['detail']}")
            click.echo(f"    → {check['fix_en'] if english else check['fix']}")
    if before is not None and before.keys_confirmed and not node.keys_confirmed:
        click.echo(
            lang.gettext(
                "atención: las claves del nodo cambiaron y ya no están confirmadas; "
                "no se cosechará hasta «aggregator node confirm {cut}»",
                cut=cut,
            ),
            err=True,
        )


@node_group.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=16, show_default=True, help="Nodos a la vez / at once."
)
@_run
async def node_import(config_path: Path | None, file: Path, concurrency: int) -> None:
    """Registrar muchos nodos desde un CSV / register many nodes from a CSV file, concurrently.

    Columns: cut, url (required), interval, contact_email, webhook_url, trust_fetched_keys (sí/no).
    Every row's outcome is printed; running the same file again is safe. Exit 1 when a row was refused.
    """
    from ogp_federation.aggregator.registry import parse_registrations  # noqa: PLC0415

    if file.stat().st_size > 1024 * 1024:
        raise click.UsageError(cli_language().gettext("{file}: más de 1 MiB", file=file))
    rows, refused = parse_registrations(file.read_bytes())
    done = await with_runtime(
        config_path, lambda runtime: runtime.registry.register_many(rows, concurrency=concurrency)
    )
    outcomes = sorted([*refused, *done], key=lambda outcome: outcome.row)
    lang = cli_language()
    words = {
        "registered": lang.gettext("registrado"),
        "updated": lang.gettext("actualizado"),
        "refused": lang.gettext("rechazado"),
    }
    for outcome in outcomes:
        keys = ""
        if outcome.keys_confirmed is not None:
            confirmed = outcome.keys_confirmed
            keys = " " + (lang.gettext("(claves confirmadas)") if confirmed else lang.gettext("(claves por confirmar)"))
        why = f": [{outcome.code}] {outcome.message}" if outcome.outcome == "refused" else ""
        number = str(outcome.row).rjust(4)
        row = lang.gettext("fila {row}", row=number)
        click.echo(f"{row}  {outcome.cut or '—':<5}  {words[outcome.outcome]}{keys}{why}")
    failed = sum(1 for outcome in outcomes if outcome.outcome == "refused")
    click.echo(
        lang.ngettext(
            "{done} de {count} fila registrada",
            "{done} de {count} filas registradas",
            len(outcomes),
            done=lang.number(len(outcomes) - failed),
        )
    )
    if failed:
        sys.exit(1)


@node_group.command("confirm")
@config_option
@click.argument("cut")
@_run
async def node_confirm(config_path: Path | None, cut: str) -> None:
    """Confirmar las claves leídas del nodo / confirm the keys fetched from CUT's node on first contact."""
    await with_runtime(config_path, lambda runtime: runtime.registry.confirm_keys(cut))
    click.echo(cli_language().gettext("claves de {cut} confirmadas", cut=cut))


@node_group.command("remove")
@config_option
@click.argument("cut")
@_run
async def node_remove(config_path: Path | None, cut: str) -> None:
    """Dar de baja el nodo de CUT (su historia se conserva) / stop polling CUT's node (its history stays)."""
    await with_runtime(config_path, lambda runtime: runtime.registry.remove_node(cut))
    click.echo(cli_language().gettext("nodo {cut} dado de baja", cut=cut))


@node_group.command("list")
@config_option
@_run
async def node_list(config_path: Path | None) -> None:
    """Nodos registrados y su estado / registered nodes with their state."""
    nodes = await with_runtime(config_path, lambda runtime: runtime.registry.nodes())
    lang = cli_language()
    if not nodes:
        click.echo(lang.gettext("ningún nodo registrado (aggregator node add CUT URL)"))
    from ogp_federation.aggregator.common import describe  # noqa: PLC0415

    for node in nodes:
        code = node.last_error_code
        error = f"  {code}: {describe(code, lang)}" if code and node.state != "ok" else ""
        click.echo(
            f"{node.cut}  {node.state:<16} seq {node.sequence if node.sequence is not None else '—':<6} "
            f"{node.base_url}{error}"
        )


@aggregator.command("harvest")
@config_option
@click.option("--now", is_flag=True, help="Cosechar ya, aunque no toque / poll now, due or not (circuits closed).")
@click.option("--cut", "cuts", multiple=True, help="Solo esta comuna (repetible) / only this commune (repeat).")
@_run
async def harvest(config_path: Path | None, now: bool, cuts: tuple[str, ...]) -> None:
    """Cosechar una vez cada nodo que toca / poll every due node once, and report.

    With --now, every node (or each --cut) is polled now even if it is not due yet.
    """
    from ogp_federation.aggregator.common import describe  # noqa: PLC0415

    tune_gc()
    lang = cli_language()
    chosen = list(cuts) or None

    async def run(runtime: Any) -> list[Any]:
        if now:
            await runtime.scheduler.make_due(chosen)  # an unknown CUT is an error naming it
        elif chosen:
            await runtime.scheduler.require_registered(chosen)
        results: list[Any] = await runtime.scheduler.harvest_due(cuts=chosen)
        return results

    results = await with_runtime(config_path, run)
    for result in results:
        explained = f"{result.code}: {describe(result.code, lang)}" if result.code else ""
        click.echo(f"{result.cut}  {result.outcome:<12} {explained}")
    failed = sum(1 for result in results if result.outcome not in ("accepted", "unchanged"))
    click.echo(
        lang.ngettext(
            "{count} nodo cosechado, {failed} con problemas",
            "{count} nodos cosechados, {failed} con problemas",
            len(results),
            failed=lang.number(failed),
        )
    )


@aggregator.command("serve")
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Dirección donde escuchar / address to listen on.")
@click.option("--port", type=int, default=8100, show_default=True, help="Puerto / port.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Procesos que sirven (más de uno solo con PostgreSQL) / serving processes (more than one: PostgreSQL only).",
)
def serve(config_path: Path | None, host: str, port: int, workers: int) -> None:
    """Servir el agregador / serve the read API, push endpoint, status page and metrics, and run the scheduler."""
    import uvicorn  # noqa: PLC0415

    if config_path is not None:
        os.environ[CONFIG_ENV] = str(config_path.resolve())
    if workers > 1 and _settings(config_path).database_url.startswith("sqlite"):
        # SQLite takes one writer at a time: several processes would queue on its lock (and the harvest
        # would fail with "database is locked"); the processes of a larger deployment share PostgreSQL.
        raise click.BadParameter(
            cli_language().gettext("más de un proceso necesita PostgreSQL (la base es SQLite)"), param_hint="--workers"
        )
    _check_database(config_path)  # a clear error and exit 2 before the server starts
    tune_gc()
    # The app factory configures logging; uvicorn's own records then share its format. Several workers
    # each run the scheduler: they share the harvest through the database's leases, as separate
    # ``aggregator work`` processes do.
    uvicorn.run(
        "ogp_federation.aggregator.asgi:app_from_environment",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        workers=workers,
    )


@_run
async def _check_database(config_path: Path | None) -> None:
    await with_runtime(config_path, lambda runtime: runtime.check_database())


@aggregator.command("work")
@config_option
@click.option("--seconds", type=float, help="Stop after this long [default: until SIGTERM/Ctrl-C].")
@_run
async def work(config_path: Path | None, seconds: float | None) -> None:
    """Cosechar sin servir HTTP / harvest without serving HTTP (run several on one PostgreSQL)."""
    import signal  # noqa: PLC0415

    from ogp_federation.aggregator.runtime import AggregatorRuntime  # noqa: PLC0415
    from ogp_federation.core.logs import configure_logging  # noqa: PLC0415

    settings = _settings(config_path)
    configure_logging(json=settings.json_logs)
    runtime = AggregatorRuntime(settings)
    try:
        await runtime.check_database()
    except BaseException:
        await runtime.stop()
        raise
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def ticking() -> None:
        while True:
            await runtime.scheduler.safe_tick()  # a database restart is waited out, not a crash
            await asyncio.sleep(runtime.settings.tick_seconds)

    ticker, stopper = asyncio.create_task(ticking()), asyncio.create_task(stop.wait())
    try:  # until a signal, --seconds, or the ticking fails
        done, _ = await asyncio.wait({ticker, stopper}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # A harvest underway stops now: its finished polls are recorded, the others' nodes given back.
        await runtime.stop()
        for task in (ticker, stopper):
            task.cancel()
        await asyncio.gather(ticker, stopper, return_exceptions=True)
    if ticker in done:
        ticker.result()  # what stopped the ticking (safe_tick lets nothing through but bugs)


@aggregator.group("quarantine")
def quarantine_group() -> None:
    """Versiones en cuarentena / quarantined versions."""


@quarantine_group.command("list")
@config_option
@_run
async def quarantine_list(config_path: Path | None) -> None:
    """Versiones en cuarentena por revisar / quarantined versions waiting for review."""

    async def every(runtime: Any) -> list[Any]:
        items, cursor = [], None
        while True:
            page = await runtime.review.pending(cursor=cursor)
            items += page.items
            if (cursor := page.next) is None:
                return items

    pending = await with_runtime(config_path, every)
    for item in pending:
        click.echo(f"{item.id:>6}  {item.cut}  seq {item.sequence:<6} {item.reason}")
    if not pending:
        click.echo(cli_language().gettext("nada en cuarentena"))


@quarantine_group.command("approve")
@config_option
@click.argument("version_id", type=int)
@_run
async def quarantine_approve(config_path: Path | None, version_id: int) -> None:
    """Aplicar una versión en cuarentena / apply a quarantined version (newer than the accepted one)."""
    await with_runtime(config_path, lambda runtime: runtime.review.approve(version_id))
    click.echo(cli_language().gettext("versión {id} aplicada", id=version_id))


@quarantine_group.command("discard")
@config_option
@click.argument("version_id", type=int)
@_run
async def quarantine_discard(config_path: Path | None, version_id: int) -> None:
    """Descartar una versión en cuarentena / discard a quarantined version for good (kept, marked discarded)."""
    await with_runtime(config_path, lambda runtime: runtime.review.discard(version_id))
    click.echo(cli_language().gettext("versión {id} descartada", id=version_id))


@aggregator.command("admin-token")
@click.option("--metrics", is_flag=True, help="Un token solo para leer /metrics / a token that only reads /metrics.")
def admin_token(metrics: bool) -> None:
    """Token de operador y su hash / an operator token (give it to the operator) and its hash (for the settings).

    With --metrics, a token for the Prometheus scraper: once its hash is in metrics_token_hashes, /metrics
    answers only to it (and to operator tokens).
    """
    import hashlib  # noqa: PLC0415
    import secrets  # noqa: PLC0415

    token = ("ogpm_" if metrics else "ogpa_") + secrets.token_urlsafe(32)
    setting = "metrics_token_hashes" if metrics else "admin_token_hashes"
    click.echo(f"token: {token}")
    digest = hashlib.sha256(token.encode()).hexdigest()
    variable = "OGP_AGG_" + setting.upper()
    alternative = cli_language().gettext("o {variable}", variable=variable)
    click.echo(f'{setting} = ["{digest}"]  # {alternative}')


@aggregator.group("commune")
def commune_group() -> None:
    """Comunas del registro / registry communes."""


@commune_group.command("set")
@config_option
@click.argument("cut")
@click.option("--population", type=click.IntRange(0), help="Población residente / resident population.")
@click.option("--subdere-group", type=click.IntRange(1, 5), help="Grupo de tipología SUBDERE, 1 a 5 / typology group.")
@click.option("--group", "groups", multiple=True, help="Custom peer group (repeat); replaces the list.")
@_run
async def commune_set(
    config_path: Path | None, cut: str, population: int | None, subdere_group: int | None, groups: tuple[str, ...]
) -> None:
    """Atributos de grupo de pares de una comuna / record a commune's peer-group attributes."""
    commune = await with_runtime(
        config_path,
        lambda runtime: runtime.registry.set_attributes(
            cut, population=population, subdere_group=subdere_group, groups=list(groups) if groups else None
        ),
    )
    click.echo(
        cli_language().gettext(
            "{cut}: población {population}, grupo SUBDERE {group}, grupos {groups}",
            cut=commune.cut,
            population=_or_dash(commune.population),
            group=_or_dash(commune.subdere_group),
            groups=", ".join(commune.groups) or "—",
        )
    )


for _command in [*HISTORY_COMMANDS, *BENCHMARK_COMMANDS, *QUALITY_COMMANDS, *LIBRARY_COMMANDS, *RESEARCH_COMMANDS]:
    aggregator.add_command(_command)
