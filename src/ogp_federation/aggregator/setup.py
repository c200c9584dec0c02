"""``aggregator db upgrade``: migrate the database and seed the 346 communes."""

from __future__ import annotations

from ogp_federation.core.db import Database
from ogp_federation.core.migrations import upgrade
from ogp_federation.feed.reference import CommuneReference

from .net import Fetcher, NetworkGuard
from .registry import RegistryService

__all__ = ["MIGRATIONS", "prepare_database"]

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
