"""Helpers for node tests: a node initialised in a temporary folder, a staff token, fixture records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from conftest import FEEDS
from ogp_federation.feed import COLLECTIONS, Entity
from ogp_federation.feed.model import Contact
from ogp_federation.node.app import create_app
from ogp_federation.node.records import ReplaceAll
from ogp_federation.node.runtime import NodeRuntime
from ogp_federation.node.settings import NodeSettings, load_settings
from ogp_federation.node.setup import init_node

PASSWORD = "una-clave-bastante-larga"


def fixture_records(name: str = "penalolen.json") -> dict[Entity, list[dict[str, Any]]]:
    """The records of a fixture feed, by collection."""
    document = msgspec.json.decode((FEEDS / name).read_bytes())
    return {c.entity: document.get(c.entity.value, []) for c in COLLECTIONS}


async def make_node(
    folder: Path, database_url: str, *, cut: str = "13122", public_url: str = "http://testserver.local"
) -> NodeSettings:
    """``node init`` in ``folder`` on ``database_url``; returns the settings as read back from disk."""
    await init_node(
        folder / "node.toml",
        cut=cut,
        data_dir=folder / "data",
        public_url=public_url,
        database_url=database_url,
        contact=Contact(name="Gobierno Abierto", email="ga@example.cl"),
    )
    return load_settings(folder / "node.toml")


async def load_fixture(settings: NodeSettings, name: str = "penalolen.json") -> None:
    """Publish a fixture feed's records on the node."""
    runtime = NodeRuntime(settings)
    try:
        await runtime.change([ReplaceAll(fixture_records(name))], author="test")
    finally:
        await runtime.db.close()


async def staff_token(settings: NodeSettings, username: str = "editora", role: str = "editor") -> str:
    """Create a staff account and return a token for it."""
    runtime = NodeRuntime(settings)
    try:
        await runtime.staff.create_user(username, PASSWORD, role)
        return await runtime.staff.create_token(username)
    finally:
        await runtime.db.close()


@asynccontextmanager
async def client(settings: NodeSettings, **kwargs: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    """An in-process client of the node app (lifespan included)."""
    async with AsyncTestClient(app=create_app(settings, **kwargs), base_url="http://testserver.local") as test_client:
        yield test_client
