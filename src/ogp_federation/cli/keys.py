"""``ogp-federation keys``: Ed25519 signing keys and the public JWKS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ogp_federation.core.errors import OGPError
from ogp_federation.core.files import write_private
from ogp_federation.core.i18n import cli_language
from ogp_federation.feed import signing

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Claves de firma Ed25519 / Ed25519 signing keys."""


@keys.command("generate")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("signing-key.jwk.json"),
    show_default=True,
    help="Private key to write (mode 0600).",
)
@click.option(
    "--jwks",
    "jwks_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("jwks.json"),
    show_default=True,
    help="Public JWKS; an existing one keeps its keys (rotation).",
)
@click.option("--force", is_flag=True, help="Replace an existing private key file.")
def generate(key_path: Path, jwks_path: Path, force: bool) -> None:
    """Generar un par de claves / generate a key pair and add its public key to the JWKS."""
    old: list[dict[str, Any]] = []
    if jwks_path.exists():
        raw = jwks_path.read_bytes()
        try:
            signing.load_jwks(raw)
        except OGPError as exc:
            raise click.ClickException(f"{jwks_path}: {exc.describe()}") from exc
        old = [entry for entry in json.loads(raw)["keys"] if isinstance(entry, dict)]
    key = signing.generate_key()
    try:
        write_private(key_path, signing.private_key_json(key), overwrite=force)
    except FileExistsError as exc:
        message = cli_language().gettext("{path} ya existe; use --force para reemplazarlo", path=key_path)
        raise click.ClickException(message) from exc
    published = signing.jwks_of([key])["keys"]
    jwks_path.write_text(json.dumps({"keys": old + published}, indent=2) + "\n", encoding="utf-8")
    private = cli_language().gettext("clave privada: {path}", path=key_path)
    click.echo(f"kid {published[0]['kid']}\n{private}\nJWKS: {jwks_path}")
