"""``ogp-federation aggregator client``: researchers' OAuth2 clients (create, list, rotate, disable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ogp_federation.core.i18n import cli_language

from ._aggregator import config_option, with_runtime
from .node import _run

__all__ = ["RESEARCH_COMMANDS"]


@click.group("client")
def client_group() -> None:
    """Clientes OAuth2 de investigadores / researchers' OAuth2 clients (client credentials)."""


@client_group.command("create")
@config_option
@click.option("--name", required=True, help="Quién / who (a university, a research group).")
@click.option("--contact", required=True, help="Correo de contacto / contact e-mail.")
@click.option(
    "--scopes",
    default="read",
    show_default=True,
    help="Alcances separados por comas / comma-separated scopes: read, stream, bulk.",
)
@click.option("--quota", type=click.IntRange(1, 100_000), help="Solicitudes por minuto / requests a minute.")
@_run
async def client_create(config_path: Path | None, name: str, contact: str, scopes: str, quota: int | None) -> None:
    """Crear un cliente / create a client; its secret is shown once (only its hash is kept)."""
    wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
    client, secret = await with_runtime(
        config_path,
        lambda runtime: runtime.research.create_client(
            name=name, contact=contact, scopes=wanted, quota_per_minute=quota
        ),
    )
    lang = cli_language()
    click.echo(lang.gettext("client_id: {id}", id=client.client_id))
    click.echo(lang.gettext("client_secret (se muestra solo esta vez): {secret}", secret=secret))
    click.echo(lang.gettext("alcances: {scopes}", scopes=client.scopes))


@client_group.command("list")
@config_option
@_run
async def client_list(config_path: Path | None) -> None:
    """Listar los clientes (nunca sus secretos) / list the clients (never their secrets)."""
    clients = await with_runtime(config_path, lambda runtime: runtime.research.clients())
    lang = cli_language()
    for client in clients:
        state = lang.gettext("deshabilitado") if client.disabled_at else lang.gettext("activo")
        quota = client.quota_per_minute or "—"
        click.echo(f"{client.client_id:<22} {client.name[:40]:<40} {client.scopes:<18} {quota!s:>6}  {state}")
    if not clients:
        click.echo(lang.gettext("ningún cliente"))


@client_group.command("rotate")
@config_option
@click.argument("client_id")
@_run
async def client_rotate(config_path: Path | None, client_id: str) -> None:
    """Nuevo secreto / a new secret for CLIENT_ID (the old one stops working now); shown once."""
    secret = await with_runtime(config_path, lambda runtime: runtime.research.rotate_secret(client_id))
    click.echo(cli_language().gettext("client_secret (se muestra solo esta vez): {secret}", secret=secret))


@client_group.command("disable")
@config_option
@click.argument("client_id")
@_run
async def client_disable(config_path: Path | None, client_id: str) -> None:
    """Deshabilitar / disable CLIENT_ID: no new token, and its current tokens stop working."""

    async def disable(runtime: Any) -> None:
        await runtime.research.disable(client_id)

    await with_runtime(config_path, disable)
    click.echo(cli_language().gettext("cliente {id} deshabilitado", id=client_id))


@click.group("release")
def release_group() -> None:
    """Publicaciones masivas / bulk releases (CSV, Parquet, JSON Lines; signed manifest)."""


@release_group.command("build")
@config_option
@click.option(
    "--cutoff",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ"]),
    help="Corte / cut-off, e.g. 2026-12-01T00:00:00-03:00 [default: now].",
)
@click.option("--monthly", is_flag=True, help="La de este mes (corte: día 1, hora de Chile) / this month's release.")
@_run
async def release_build(config_path: Path | None, cutoff: Any, monthly: bool) -> None:
    """Construir una publicación / build a release of the whole federation as of the cut-off (kept for good)."""
    from datetime import UTC  # noqa: PLC0415

    if cutoff is not None and cutoff.tzinfo is None:
        cutoff = cutoff.replace(tzinfo=UTC)  # the …Z form

    async def build(runtime: Any) -> Any:
        if monthly:
            return await runtime.releases.monthly()
        return await runtime.releases.build(cutoff)

    view = await with_runtime(config_path, build)
    lang = cli_language()
    click.echo(
        lang.gettext(
            "publicación {id} (corte {cutoff}): {files} archivos", id=view.id, cutoff=view.cutoff, files=view.files
        )
    )
    for table, rows in sorted(view.rows.items()):
        click.echo(f"  {table:<22} {lang.number(rows):>12}")


@release_group.command("list")
@config_option
@_run
async def release_list(config_path: Path | None) -> None:
    """Listar las publicaciones / list the releases, newest first."""

    async def listed(runtime: Any) -> Any:
        return runtime.releases.releases()

    views = await with_runtime(config_path, listed)
    lang = cli_language()
    for view in views:
        click.echo(f"{view.id:<26} {view.cutoff}  {lang.number(view.bytes):>14} bytes")
    if not views:
        click.echo(lang.gettext("ninguna publicación"))


RESEARCH_COMMANDS = [client_group, release_group]
