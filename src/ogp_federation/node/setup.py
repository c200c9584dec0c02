"""``node init``, ``node db upgrade`` and ``node keys rotate``: create and maintain a node on disk."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from ogp_federation.core.db import Database
from ogp_federation.core.errors import ConfigurationError, invalid_input
from ogp_federation.core.migrations import upgrade
from ogp_federation.feed.model import Contact
from ogp_federation.feed.reference import CommuneReference

from .keyring import PRIVATE_FILE, KeyRing
from .runtime import MIGRATIONS, NodeRuntime
from .settings import NodeSettings, settings_toml

__all__ = ["MIGRATIONS", "init_node", "rotate_key", "upgrade_database"]


async def upgrade_database(settings: NodeSettings) -> None:
    """Apply every pending migration."""
    db = Database(settings.resolved_database_url)
    try:
        await upgrade(db, MIGRATIONS)
    finally:
        await db.close()


async def init_node(
    config_path: Path,
    *,
    cut: str,
    data_dir: Path,
    public_url: str,
    contact: Contact,
    database_url: str | None = None,
    reference: CommuneReference | None = None,
) -> NodeSettings:
    """Write the settings, create the signing key and the database, and publish the empty plan."""
    reference = reference or CommuneReference.packaged()
    if reference.get(cut) is None:
        raise ConfigurationError(f"el CUT {cut} no es una comuna de Chile", f"CUT {cut} is not a commune of Chile")
    if config_path.exists():
        raise ConfigurationError(f"{config_path} ya existe", f"{config_path} already exists", code="config.exists")
    settings = _checked_settings(
        {
            "cut": cut,
            "data_dir": str(data_dir.resolve()),
            "public_url": public_url,
            "database_url": database_url,
            "contact": msgspec.to_builtins(contact),
        }
    )
    keys = settings.data_path / "keys"
    new_key = not (keys / PRIVATE_FILE).exists()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    KeyRing.create(keys)
    try:
        await upgrade_database(settings)
        runtime = NodeRuntime(settings, reference=reference)
        try:
            await runtime.plan.apply([], author="init", summary="initial publication")
        finally:
            await runtime.db.close()
    except BaseException:
        if new_key:  # never published: a later `node init` starts again cleanly
            shutil.rmtree(keys, ignore_errors=True)
        raise
    # Written last: a node.toml on disk means the node is ready.
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(settings_toml(settings), encoding="utf-8")
    return settings


def _checked_settings(values: dict[str, object]) -> NodeSettings:
    try:
        return msgspec.convert(values, NodeSettings)
    except msgspec.ValidationError as exc:
        raise invalid_input(exc, "ajustes inválidos", "invalid settings") from exc


def rotate_key(settings: NodeSettings) -> tuple[str, str]:
    """Replace the signing key; the old public key stays in the JWKS for the grace period."""
    ring = KeyRing.load(settings.data_path / "keys")
    old = ring.kid
    return old, ring.rotate(datetime.now(UTC))
