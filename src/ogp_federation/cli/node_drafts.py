"""``ogp-federation node adopt`` and ``node draft``: take a methodology from the library, edit, publish."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ogp_federation.core.errors import InvalidInputError
from ogp_federation.core.i18n import cli_language
from ogp_federation.feed import Entity

from ._io import read_source
from .node import _run, _with_runtime, config_option

__all__ = ["adopt_command", "draft_group"]

ENTITY_OPTION = click.option(
    "--entity",
    type=click.Choice([entity.value for entity in Entity]),
    default="methodologies",
    show_default=True,
    help="Colección del borrador / the draft's collection.",
)


@click.command("adopt")
@config_option
@click.argument("cut")
@click.argument("methodology_id")
@click.option("--from", "library_url", help="The federation aggregator's URL [default: library_url setting].")
@click.option("--id", "new_id", help="Identificador aquí / its identifier here [default: the same, if free].")
@click.option("--jwks", help="Check with these keys (path or URL) instead of those the federation pinned.")
@_run
async def adopt_command(
    config_path: Path, cut: str, methodology_id: str, library_url: str | None, new_id: str | None, jwks: str | None
) -> None:
    """Adoptar una metodología / take METHODOLOGY_ID of commune CUT from the library as a draft.

    The text is read from the version the commune signed and verified with its keys; nothing is
    published until `node draft publish`.
    """
    keys = read_source(jwks, max_bytes=256 * 1024) if jwks else None
    draft = await _with_runtime(
        config_path,
        lambda runtime: runtime.adopter.adopt(
            cut, methodology_id, author="cli", library_url=library_url, new_id=new_id, jwks=keys
        ),
    )
    lang = cli_language()
    click.echo(
        lang.gettext(
            "borrador {key} creado desde la metodología {source} de {cut} (versión firmada {version}, clave {kid})",
            key=draft.key,
            source=methodology_id,
            cut=cut,
            version=draft.origin.get("version_id"),
            kid=draft.origin.get("kid"),
        )
    )
    click.echo(lang.gettext("edítelo y publíquelo: ogp-federation node draft publish {key}", key=draft.key))


@click.group("draft")
def draft_group() -> None:
    """Borradores sin publicar / records prepared but not published."""


@draft_group.command("list")
@config_option
@_run
async def draft_list(config_path: Path) -> None:
    """Listar los borradores / list the drafts."""
    drafts = await _with_runtime(config_path, lambda runtime: runtime.drafts.list())
    lang = cli_language()
    for draft in drafts:
        origin = draft.origin
        source = lang.gettext("de {cut}/{id}", cut=origin["cut"], id=origin["id"]) if "cut" in origin else ""
        click.echo(f"{draft.entity:<14} {draft.key:<40} v{draft.version:<3} {source}")
    if not drafts:
        click.echo(lang.gettext("ningún borrador"))


@draft_group.command("show")
@config_option
@click.argument("key")
@ENTITY_OPTION
@_run
async def draft_show(config_path: Path, key: str, entity: str) -> None:
    """Mostrar un borrador como JSON / print a draft's record as JSON (edit it, then `draft update`)."""
    draft = await _with_runtime(config_path, lambda runtime: runtime.drafts.get(Entity(entity), key))
    click.echo(json.dumps(draft.record, ensure_ascii=False, indent=2))


@draft_group.command("update")
@config_option
@click.argument("key")
@click.argument("record_file", type=click.Path(dir_okay=False, allow_dash=True))
@ENTITY_OPTION
@_run
async def draft_update(config_path: Path, key: str, record_file: str, entity: str) -> None:
    """Reemplazar un borrador / replace a draft's record with RECORD_FILE (JSON; - reads standard input)."""
    raw = (
        sys.stdin.buffer.read(1024 * 1024 + 1)
        if record_file == "-"
        else read_source(record_file, max_bytes=1024 * 1024)
    )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            "el archivo no es JSON", "the file is not JSON", errors=[{"path": "$", "message": str(exc)}]
        ) from exc

    async def update(runtime: Any) -> int:
        drafts = runtime.drafts
        current = await drafts.get(Entity(entity), key)
        done = await drafts.replace(Entity(entity), key, data, expected_version=current.version, author="cli")
        return int(done.version)

    version = await _with_runtime(config_path, update)
    click.echo(cli_language().gettext("borrador {key} actualizado (versión {version})", key=key, version=version))


@draft_group.command("publish")
@config_option
@click.argument("key")
@ENTITY_OPTION
@_run
async def draft_publish(config_path: Path, key: str, entity: str) -> None:
    """Publicar un borrador / publish a draft as a new sequence of the feed (it is then no longer a draft)."""
    published = await _with_runtime(
        config_path, lambda runtime: runtime.publish_draft(Entity(entity), key, author="cli")
    )
    click.echo(
        cli_language().gettext("{key} publicado; secuencia {sequence}", key=key, sequence=published.snapshot.sequence)
    )


@draft_group.command("discard")
@config_option
@click.argument("key")
@ENTITY_OPTION
@_run
async def draft_discard(config_path: Path, key: str, entity: str) -> None:
    """Descartar un borrador / drop a draft without publishing it."""
    await _with_runtime(config_path, lambda runtime: runtime.drafts.discard(Entity(entity), key))
    click.echo(cli_language().gettext("borrador {key} descartado", key=key))
