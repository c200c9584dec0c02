"""``aggregator init`` and ``aggregator db upgrade``: the settings file, the database, the 346 communes."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import msgspec

from ogp_federation.core.db import Database
from ogp_federation.core.errors import ConfigurationError
from ogp_federation.core.migrations import upgrade
from ogp_federation.feed.reference import CommuneReference

from .common import AggregatorSettings
from .net import Fetcher, NetworkGuard
from .registry import RegistryService

__all__ = ["MIGRATIONS", "init_aggregator", "prepare_database"]

MIGRATIONS = "ogp_federation.aggregator:migrations"


async def prepare_database(url: str, reference: CommuneReference | None = None) -> int:
    """Apply pending migrations and add missing communes; return how many communes were added."""
    db = Database(url)
    fetcher = Fetcher(NetworkGuard())
    try:
        await upgrade(db, MIGRATIONS)
        return await RegistryService(db, fetcher, default_interval=3600, reference=reference).seed()
    finally:
        await fetcher.close()
        await db.close()


async def init_aggregator(
    config_path: Path, *, database_url: str | None, public_url: str, allowed_networks: list[str]
) -> tuple[AggregatorSettings, str]:
    """Write a settings file (never over an existing one), migrate the database and seed the communes.

    Returns the settings and a new operator token, whose SHA-256 alone is written to the file.
    """
    if config_path.exists():
        raise ConfigurationError(
            f"{config_path} ya existe: no se sobrescribe", f"{config_path} already exists: it is not overwritten"
        )
    token = "ogpa_" + secrets.token_urlsafe(32)
    url = database_url or f"sqlite+aiosqlite:///{(config_path.parent / 'aggregator.db').resolve()}"
    values = {
        "database_url": url,
        "public_url": public_url,
        "allowed_networks": allowed_networks,
        "admin_token_hashes": [hashlib.sha256(token.encode()).hexdigest()],
        "releases_dir": str((config_path.parent / "releases").resolve()),  # beside the settings, not the cwd
    }
    try:
        settings = msgspec.convert(values, AggregatorSettings)
    except msgspec.ValidationError as exc:
        raise ConfigurationError("configuración inválida", "invalid settings", detail=str(exc)) from exc
    lines = ["# ogp-federation aggregator settings: every setting is described in docs/settings.md", "[aggregator]"]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    config_path.parent.mkdir(parents=True, exist_ok=True)
    await prepare_database(settings.database_url)
    config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config_path.chmod(0o600)
    return settings, token
