"""A throwaway PostgreSQL database for a benchmark run, dropped afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

PG_ADMIN = os.environ.get("OGP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
T = TypeVar("T")


async def with_database(url: str | None, action: Callable[[str], Awaitable[T]]) -> T:
    """Run ``action`` on ``url``, or on a new PostgreSQL database created and dropped around it."""
    if url:
        return await action(url)
    name = f"ogp_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        return await action(f"{base}/{name}")
    finally:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
