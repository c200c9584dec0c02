"""Shared test fixtures: repository paths, the fixture feeds, and a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
FEEDS = FIXTURES / "feeds"
COMMUNE_FEEDS = ("penalolen.json", "maipu.json", "renca.json")
# The command line speaks the user's language: the tests read its Spanish, whatever this machine's locale.
os.environ["OGP_LANG"] = "es"
PG_ADMIN_DSN = os.environ.get("OGP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def penalolen_bytes() -> bytes:
    return (FEEDS / "penalolen.json").read_bytes()


@asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """A DSN for a new, empty database on the running PostgreSQL server, dropped afterwards.

    Never skipped: a test that asks for PostgreSQL fails loudly when the server is not there
    (start it with ``pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start``).
    """
    name = f"ogp_test_{secrets.token_hex(6)}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {exc}", pytrace=False)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
async def pg_dsn() -> AsyncIterator[str]:
    """One throwaway PostgreSQL database for the whole test session."""
    async with fresh_pg_database() as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database URL per test: SQLite in a temporary folder, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    async with fresh_pg_database() as dsn:
        yield dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
