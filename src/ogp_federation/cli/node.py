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
from ogp_federation.core.i18n import cli_language
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
    english = cli_language().locale == "en"
    click.echo(f"error [{exc.code}]: {exc.describe('en' if english else 'es')}", err=True)
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
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("node-data"),
    show_default=True,
    help="Carpeta de datos (base, claves, evidencias) / data folder.",
)
@click.option("--public-url", default="http://127.0.0.1:8080", show_default=True, help="Where the node is reached.")
@click.option("--database-url", help="postgresql+asyncpg://… (default: SQLite in the data folder).")
@click.option(
    "--contact-name", default="Gobierno Abierto", show_default=True, help="Contacto público / public contact."
)
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
    """Crear un nodo / create the settings, the signing key (0600) and the database; publish the empty plan."""
    from ogp_federation.node.setup import init_node  # noqa: PLC0415

    settings = await init_node(
        config_path,
        cut=cut,
        data_dir=data_dir,
        public_url=public_url,
        database_url=database_url,
        contact=Contact(name=contact_name, email=contact_email),
    )
    click.echo(
        cli_language().gettext(
            "nodo {cut} listo: {path} (datos: {data})", cut=settings.cut, path=config_path, data=settings.data_dir
        )
    )


@node.command("serve")
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Dirección donde escuchar / address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True, help="Puerto / port.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Procesos / processes.")
def serve_command(config_path: Path, host: str, port: int, workers: int) -> None:
    """Servir el nodo / serve the feed, the admin API and the citizen page."""
    import uvicorn  # noqa: PLC0415

    _check_node(config_path)  # fail early and clearly: bad settings, a database down or not migrated
    os.environ[CONFIG_ENV] = str(config_path.resolve())
    derived = _local_public_url(config_path, host, port)
    if derived is not None:  # the descriptor and the pushes must name the port actually served
        os.environ["OGP_NODE_PUBLIC_URL"] = derived
        click.echo(cli_language().gettext("public_url local ajustada al puerto servido: {url}", url=derived))
    uvicorn.run(
        "ogp_federation.node.asgi:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=None,  # the app factory configures logging; uvicorn's own records then share its format
    )


def _local_public_url(config_path: Path, host: str, port: int) -> str | None:
    """The public URL to serve under when the configured one is this machine at another port, else None.

    A node published at a real address (behind a proxy, say) keeps it: only a loopback URL is derived.
    """
    from urllib.parse import urlsplit  # noqa: PLC0415

    from ogp_federation.node.settings import load_settings  # noqa: PLC0415

    configured = urlsplit(load_settings(config_path).public_url)
    local = configured.hostname in ("127.0.0.1", "localhost", "::1")
    if not local or configured.port == port or "OGP_NODE_PUBLIC_URL" in os.environ:
        return None
    served = host if host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104 (compared, not bound)
    served = f"[{served}]" if ":" in served else served
    return f"{configured.scheme}://{served}:{port}{configured.path.rstrip('/')}"


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
    """Aplicar migraciones pendientes / apply pending migrations."""
    from ogp_federation.node.setup import upgrade_database  # noqa: PLC0415

    await upgrade_database(_settings(config_path))
    click.echo(cli_language().gettext("base de datos al día"))


@node.group("keys")
def keys_group() -> None:
    """Clave de firma / signing key."""


@keys_group.command("rotate")
@config_option
def keys_rotate(config_path: Path) -> None:
    """Cambiar la clave de firma / replace the signing key (the old one stays in the JWKS for the grace period)."""
    from ogp_federation.node.setup import rotate_key  # noqa: PLC0415

    try:
        settings = _settings(config_path)
        old, new = rotate_key(settings)
    except OGPError as exc:
        raise click.ClickException(exc.describe()) from exc
    click.echo(
        cli_language().ngettext(
            "clave nueva {new}; la anterior {old} sigue en el JWKS {count} día",
            "clave nueva {new}; la anterior {old} sigue en el JWKS {count} días",
            settings.key_grace_days,
            new=new,
            old=old,
        )
    )


@node.group("user")
def user_group() -> None:
    """Cuentas del personal / staff accounts."""


def _password(given: str | None, password_stdin: bool, generate: bool) -> str:
    """The new account's password: given, from standard input, generated, or asked twice (in Spanish)."""
    from ogp_federation.node.auth import MIN_PASSWORD, StaffService  # noqa: PLC0415

    if sum((given is not None, password_stdin, generate)) > 1:
        raise click.UsageError(
            "use solo una de --password, --password-stdin y --generate-password / use only one of them"
        )
    if given is not None:
        StaffService.check_password(given)
        return given
    if generate:
        import secrets  # noqa: PLC0415

        return secrets.token_urlsafe(18)  # 24 characters, 144 bits
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        StaffService.check_password(password)
        return password
    if not sys.stdin.isatty():
        raise click.UsageError(
            "no hay terminal para preguntar la contraseña: use --password-stdin o --generate-password"
            " / no terminal to ask for the password: use --password-stdin or --generate-password"
        )

    def long_enough(value: str) -> str:
        if len(value) < MIN_PASSWORD:
            raise click.BadParameter(f"al menos {MIN_PASSWORD} caracteres / at least {MIN_PASSWORD} characters")
        return value

    entered: str = click.prompt(
        f"Contraseña (al menos {MIN_PASSWORD} caracteres) / password",
        hide_input=True,
        confirmation_prompt="Repita la contraseña / repeat it",
        value_proc=long_enough,
    )
    return entered


@user_group.command("create")
@config_option
@click.argument("username")
@click.option("--role", type=click.Choice(["editor", "admin"]), default="editor", show_default=True, help="Rol / role.")
@click.option(
    "--password",
    "given",
    help="La contraseña (visible para otros usuarios del equipo: mejor --password-stdin) / the password.",
)
@click.option("--password-stdin", is_flag=True, help="Leer la contraseña de la entrada / read it from standard input.")
@click.option("--generate-password", "generate", is_flag=True, help="Generar una y mostrarla / make one and show it.")
@_run
async def user_create(
    config_path: Path, username: str, role: str, given: str | None, password_stdin: bool, generate: bool
) -> None:
    """Crear una cuenta del personal / create a staff account.

    The password is asked twice (at least 12 characters), read from standard input with
    --password-stdin (for scripts), or generated with --generate-password and shown once.
    """
    from ogp_federation.node.auth import StaffService  # noqa: PLC0415

    stored = StaffService.check_username(username)  # before asking anything
    password = _password(given, password_stdin, generate)
    stored = await _with_runtime(config_path, lambda runtime: runtime.staff.create_user(stored, password, role))
    lang = cli_language()
    click.echo(lang.gettext("usuario {user} ({role}) creado", user=stored, role=role))
    if generate:
        click.echo(lang.gettext("contraseña (se muestra solo esta vez): {password}", password=password))


@node.group("token")
def token_group() -> None:
    """Tokens personales de la API / personal API tokens."""


@token_group.command("create")
@config_option
@click.argument("username")
@click.option("--name", default="personal", show_default=True, help="Para qué es / what the token is for.")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=180, show_default=True, help="Vigencia en días / valid for."
)
@_run
async def token_create(config_path: Path, username: str, name: str, days: int) -> None:
    """Crear un token personal / create a personal API token (shown once; only its hash is stored)."""
    token = await _with_runtime(config_path, lambda runtime: runtime.staff.create_token(username, name, days=days))
    click.echo(token)
    usage = cli_language().ngettext("úselo así (vence en {count} día):", "úselo así (vence en {count} días):", days)
    click.echo(
        f'{usage}\n  curl -H "Authorization: Bearer {token}" http://127.0.0.1:8080/admin/api/organizations', err=True
    )


@token_group.command("list")
@config_option
@click.argument("username", required=False)
@_run
async def token_list(config_path: Path, username: str | None) -> None:
    """Listar los tokens (nunca su valor) / list the tokens, never their value."""
    tokens = await _with_runtime(config_path, lambda runtime: runtime.staff.tokens(username))
    lang = cli_language()
    for token in tokens:
        state = (
            lang.gettext("revocado")
            if token.revoked_at
            else lang.gettext("vence el {date}", date=token.expires_at.date().isoformat())
            if token.expires_at
            else lang.gettext("sin vencimiento")
        )
        click.echo(f"{token.id:>5}  {token.username:<20} {token.name:<20} {token.created_at:%Y-%m-%d}  {state}")
    if not tokens:
        click.echo(lang.gettext("ningún token"))


@token_group.command("revoke")
@config_option
@click.argument("token_id", type=click.IntRange(1))
@_run
async def token_revoke(config_path: Path, token_id: int) -> None:
    """Revocar un token ya / revoke a token now (its id from `node token list`)."""
    await _with_runtime(config_path, lambda runtime: runtime.staff.revoke_token(token_id))
    click.echo(cli_language().gettext("token {id} revocado", id=token_id))


@node.command("export-static")
@config_option
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Carpeta / folder.")
@click.option("--base-url", help="Where the folder will be hosted [default: public_url].")
@_run
async def export_static_command(config_path: Path, out: Path, base_url: str | None) -> None:
    """Exportar el nodo como archivos estáticos / write the node as static files any web server can host."""
    from ogp_federation.node.static import export_static  # noqa: PLC0415

    files = await _with_runtime(config_path, lambda runtime: export_static(runtime, out, base_url=base_url))
    click.echo(
        cli_language().ngettext("{count} archivo en {folder}", "{count} archivos en {folder}", len(files), folder=out)
    )


@node.command("import")
@config_option
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_run
async def import_command(config_path: Path, workbook: Path) -> None:
    """Importar una planilla / make the plan exactly what WORKBOOK says: all or nothing.

    WORKBOOK is an .xlsx or a .zip of CSV files.
    """
    from ogp_federation.node.spreadsheet.service import import_workbook  # noqa: PLC0415

    content = workbook.read_bytes()
    result = await _with_runtime(
        config_path, lambda runtime: import_workbook(runtime, workbook.name, content, author="cli")
    )
    lang = cli_language()
    click.echo(
        lang.ngettext(
            "{count} registro importado; secuencia {sequence}",
            "{count} registros importados; secuencia {sequence}",
            result.records,
            sequence=result.sequence,
        )
    )
    for warning in result.warnings:
        where = warning.get("cell") or warning.get("path")
        click.echo("  " + lang.gettext("aviso {where}: {message}", where=where, message=warning["message"]))


@node.command("export")
@config_option
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["xlsx", "csv"]),
    default="xlsx",
    show_default=True,
    help="XLSX o zip de CSV / XLSX or a zip of CSV.",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Archivo / file.")
@click.option("--template", is_flag=True, help="Only the headers: an empty template to fill.")
@_run
async def export_command(config_path: Path, file_format: str, out: Path, template: bool) -> None:
    """Escribir el plan o la plantilla / write the plan (or the empty template) as a workbook.

    `node import` reads it back.
    """
    from ogp_federation.node.spreadsheet.service import export_workbook  # noqa: PLC0415

    content = await _with_runtime(config_path, lambda runtime: export_workbook(runtime, file_format, template=template))
    out.write_bytes(content)
    click.echo(f"{out} ({cli_language().number(len(content))} bytes)")
