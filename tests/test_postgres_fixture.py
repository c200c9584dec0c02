"""The throwaway PostgreSQL database used by integration tests really is a fresh, writable database."""

from __future__ import annotations

import asyncpg
import pytest

pytestmark = pytest.mark.postgres


async def test_fresh_database_is_empty_and_writable(pg_dsn: str) -> None:
    connection = await asyncpg.connect(pg_dsn)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert tables == 0
        await connection.execute("CREATE TABLE probe (cut text PRIMARY KEY)")
        await connection.execute("INSERT INTO probe VALUES ('13122')")
        assert await connection.fetchval("SELECT cut FROM probe") == "13122"
        assert (await connection.fetchval("SELECT current_database()")).startswith("ogp_test_")
    finally:
        await connection.close()
