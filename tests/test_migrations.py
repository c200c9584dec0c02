"""Upgrading a database that already holds data keeps every row (SQLite re-creates tables to alter them)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from ogp_federation.aggregator.setup import MIGRATIONS
from ogp_federation.core.db import Database
from ogp_federation.core.migrations import upgrade

ROWS = [
    (
        "INSERT INTO communes (cut, name, province_cut, province, region_cut, region, groups) "
        "VALUES ('13122', 'Peñalolén', '131', 'Santiago', '13', 'Metropolitana', '[]')"
    ),
    (
        "INSERT INTO nodes (cut, base_url, feed_url, signature_url, jwks_url, keys, keys_confirmed, poll_interval, "
        "next_poll_at, consecutive_failures, state, created_at, sequence) "
        "VALUES ('13122', 'u', 'u', 'u', 'u', '{}', true, 60, :now, 0, 'ok', :now, 7)"
    ),
    (
        "INSERT INTO feed_versions (node_id, cut, sequence, generated_at, fetched_at, body, signature, kid, sha256, "
        "status, counts) VALUES (1, '13122', 7, :now, :now, :body, 's', 'k', 'h', 'accepted', '{}')"
    ),
    "INSERT INTO version_changes (version_id, entity, key, kind, fields) VALUES (1, 'milestones', 'm1', 'added', '[]')",
    (
        "INSERT INTO record_states (cut, entity, key, data, valid_from_seq, valid_from) "
        "VALUES ('13122', 'milestones', 'm1', '{}', 7, :now)"
    ),
    (
        "INSERT INTO harvest_events (node_id, at, worker, due_at, outcome, duration_ms, bytes) "
        "VALUES (1, :now, 'w', :now, 'accepted', 1, 1)"
    ),
    "INSERT INTO push_receipts (node_id, sequence, received_at) VALUES (1, 7, :now)",
]
TABLES = ["communes", "nodes", "feed_versions", "version_changes", "record_states", "harvest_events", "push_receipts"]


async def test_upgrading_the_aggregator_keeps_every_row(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db, MIGRATIONS, "0001")
        async with db.transaction() as session:
            for statement in ROWS:
                await session.execute(text(statement), {"now": datetime.now(UTC), "body": b"{}"})
        await upgrade(db, MIGRATIONS)
        async with db.transaction() as session:
            counts = [await session.scalar(text(f"SELECT count(*) FROM {table}")) for table in TABLES]  # noqa: S608
            source = await session.scalar(text("SELECT source FROM feed_versions"))
            await session.execute(text("UPDATE feed_versions SET sequence = 1764000000000"))
            big = await session.scalar(text("SELECT sequence FROM feed_versions"))
    finally:
        await db.close()
    assert counts == [1] * len(TABLES)
    assert source == "feed"
    assert big == 1_764_000_000_000


COMPRESSION_OF_COLUMNS = """
    SELECT attrelid::regclass::text || '.' || attname, attcompression::text FROM pg_attribute
    WHERE (attrelid::regclass::text, attname) IN (
        ('feed_versions', 'body'), ('record_states', 'data'), ('version_changes', 'old'), ('version_changes', 'new')
    )
"""


async def test_large_values_are_compressed_with_lz4_on_postgresql(database_url: str) -> None:
    """Migration 0004: feed bodies (and record data) use lz4 where the server has it; bytes come back exact."""
    body = b'{"texto": "' + "Peñalolén participa ".encode() * 5000 + b'"}'  # ~100 KB, stored out of line
    db = Database(database_url)
    try:
        await upgrade(db, MIGRATIONS)
        async with db.transaction() as session:
            for statement in ROWS[:3]:
                await session.execute(text(statement), {"now": datetime.now(UTC), "body": body})
            stored = await session.scalar(text("SELECT body FROM feed_versions"))
            if db.engine.dialect.name == "postgresql":
                methods = set((await session.execute(text(COMPRESSION_OF_COLUMNS))).all())
                used = await session.scalar(text("SELECT pg_column_compression(body) FROM feed_versions"))
            else:
                methods, used = set(), None
    finally:
        await db.close()
    assert stored == body
    if database_url.startswith("postgresql"):
        assert {method for _, method in methods} == {"l"}, methods
        assert len(methods) == 4
        assert used == "lz4"
