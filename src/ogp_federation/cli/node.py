"""``ogp-federation node``: set up, run and feed a commune node."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from ogp_federation.core.errors import InvalidInputError, OGPError
from ogp_federation.feed.model import Contact

from ._io import EXIT_USAGE

__all__ = ["node"]

P = ParamSpec("P")
T = TypeVar("T")
CONFIG_ENV = "OGP_NODE_CONFIG"

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("node.toml"),
    envvar=CONFIG_ENV,
    show_default=True,
    help="Node settings file (or $OGP_NODE_CONFIG).",
)


def _run(function: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Run an async command; print ogp-federation errors (with every listed problem) and exit 2."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return asyncio.run(function(*args, **kwargs))
        except OGPError as exc:
            _report(exc)
        except Exception as exc:
            failure = _database_failure(exc)
            if failure is None and isinstance(exc, OSError):  # a file that cannot be read or written
                where = f"{exc.filename}: " if exc.filename else ""
                failure = OGPError("error de E/S", "I/O error", code="io", detail=f"{where}{exc.strerror or exc}")
            if failure is None:
                raise
            _report(failure)
        sys.exit(EXIT_USAGE)

    return wrapper


def _report(exc: OGPError) -> None:
    click.echo(f"error [{exc.code}]: {exc.describe()} / {exc.describe('en')}", err=True)
    if isinstance(exc, InvalidInputError):
        for item in exc.errors:
            where = item.get("cell") or item.get("path") or ""
            click.echo(f"  - {where}: {item.get('message')}", err=True)


def _database_failure(exc: Exception) -> OGPError | None:
    from ogp_federation.core.db import database_failure  # noqa: PLC0415 (keep `--help` fast)

    return database_failure(exc)


def _settings(config_path: Path) -> Any:
    from ogp_federation.node.settings import load_settings  # noqa: PLC0415 (keep `--help` fast)

    return load_settings(config_path)


async def _with_runtime(config_path: Path, action: Callable[[Any], Awaitable[T]]) -> T:
    from ogp_federation.node.runtime import NodeRuntime  # noqa: PLC0415

    runtime = NodeRuntime(_settings(config_path))
    try:
        return await action(runtime)
    finally:
        await runtime.db.close()


@click.group()
def node() -> None:
    """Nodo comunal / commune node."""


@node.command("init")
@config_option
@click.option("--cut", required=True, help="The commune's CUT, e.g. 13122.")
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("node-data"), show_default=True
)
@click.option("--public-url", default="http://127.0.0.1:8080", show_default=True, help="Where the node is reached.")
@click.option("--database-url", help="postgresql+asyncpg://… (default: SQLite in the data folder).")
@click.option("--contact-name", default="Gobierno Abierto", show_default=True)
@click.option("--contact-email", help="Public contact e-mail of the feed.")
@_run
async def init_command(
    config_path: Path,
    cut: str,
    data_dir: Path,
    public_url: str,
    database_url: str | None,
    contact_name: str,
    contact_email: str | None,
) -> None:
    """Create the settings, the signing key (0600) and the database, and publish the empty plan."""
    from ogp_federation.node.setup import init_node  # noqa: PLC0415

    settings = await init_node(
        config_path,
        cut=cut,
        data_dir=data_dir,
        public_url=public_url,
        database_url=database_url,
        contact=Contact(name=contact_name, email=contact_email),
    )
    click.echo(f"nodo {settings.cut} listo / node ready: {config_path} (datos/data: {settings.data_dir})")


@node.command("serve")
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
def serve_command(config_path: Path, host: str, port: int, workers: int) -> None:
    """Serve the feed, the admin API and the citizen page."""
    import uvicorn  # noqa: PLC0415

    _check_node(config_path)  # fail early and clearly: bad settings, a database down or not migrated
    os.environ[CONFIG_ENV] = str(config_path.resolve())
    uvicorn.run(
        "ogp_federation.node.asgi:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=None,  # the app factory configures logging; uvicorn's own records then share its format
    )


@_run
async def _check_node(config_path: Path) -> None:
    from ogp_federation.core.migrations import require_current  # noqa: PLC0415
    from ogp_federation.node.runtime import MIGRATIONS  # noqa: PLC0415

    await _with_runtime(config_path, lambda runtime: require_current(runtime.db, MIGRATIONS))


@node.group("db")
def db_group() -> None:
    """Base de datos / database."""


@db_group.command("upgrade")
@config_option
@_run
async def db_upgrade(config_path: Path) -> None:
    """Apply pending migrations."""
    from ogp_federation.node.setup import upgrade_database  # noqa: PLC0415

    await upgrade_database(_settings(config_path))
    click.echo("base de datos al día / database up to date")


@node.group("keys")
def keys_group() -> None:
    """Clave de firma / signing key."""


@keys_group.command("rotate")
@config_option
def keys_rotate(config_path: Path) -> None:
    """Replace the signing key; the old public key stays in the JWKS for the grace period."""
    from ogp_federation.node.setup import rotate_key  # noqa: PLC0415

    try:
        settings = _settings(config_path)
        old, new = rotate_key(settings)
    except OGPError as exc:
        raise click.ClickException(exc.describe()) from exc
    click.echo(f"clave nueva / new key {new}; la anterior {old} sigue en el JWKS {settings.key_grace_days} días")


@node.group("user")
def user_group() -> None:
    """Cuentas del personal / staff accounts."""


@user_group.command("create")
@config_option
@click.argument("username")
@click.option("--role", type=click.Choice(["editor", "admin"]), default="editor", show_default=True)
@click.password_option(help="At least 12 characters (prompted when omitted).")
@_run
async def user_create(config_path: Path, username: str, role: str, password: str) -> None:
    """Create a staff account."""
    await _with_runtime(config_path, lambda runtime: runtime.staff.create_user(username, password, role))
    click.echo(f"usuario {username} ({role}) creado / created")


@node.group("token")
def token_group() -> None:
    """Tokens personales de la API / personal API tokens."""


@token_group.command("create")
@config_option
@click.argument("username")
@click.option("--name", default="personal", show_default=True, help="What the token is for.")
@_run
async def token_create(config_path: Path, username: str, name: str) -> None:
    """Create a personal API token (printed once; only its hash is stored)."""
    token = await _with_runtime(config_path, lambda runtime: runtime.staff.create_token(username, name))
    click.echo(token)


@node.command("export-static")
@config_option
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", help="Where the folder will be hosted [default: public_url].")
@_run
async def export_static_command(config_path: Path, out: Path, base_url: str | None) -> None:
    """Write the node as static files any web server can host."""
    from ogp_federation.node.static import export_static  # noqa: PLC0415

    files = await _with_runtime(config_path, lambda runtime: export_static(runtime, out, base_url=base_url))
    click.echo(f"{len(files)} archivos en / files in {out}")


@node.command("import")
@config_option
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_run
async def import_command(config_path: Path, workbook: Path) -> None:
    """Make the plan exactly what WORKBOOK (.xlsx or .zip of CSV) says: all or nothing."""
    from ogp_federation.node.spreadsheet.service import import_workbook  # noqa: PLC0415

    content = workbook.read_bytes()
    result = await _with_runtime(
        config_path, lambda runtime: import_workbook(runtime, workbook.name, content, author="cli")
    )
    click.echo(f"importados / imported {result.records} registros; secuencia / sequence {result.sequence}")
    for warning in result.warnings:
        click.echo(f"  aviso / warning {warning.get('cell') or warning.get('path')}: {warning['message']}")


@node.command("export")
@config_option
@click.option("--format", "file_format", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--template", is_flag=True, help="Only the headers: an empty template to fill.")
@_run
async def export_command(config_path: Path, file_format: str, out: Path, template: bool) -> None:
    """Write the plan (or the empty template) as a workbook that `node import` reads back."""
    from ogp_federation.node.spreadsheet.service import export_workbook  # noqa: PLC0415

    content = await _with_runtime(config_path, lambda runtime: export_workbook(runtime, file_format, template=template))
    out.write_bytes(content)
    click.echo(f"{out} ({len(content):,} bytes)")
