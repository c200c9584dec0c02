"""large values compressed with lz4 on PostgreSQL (signed feed bodies, record data)

A version's body is a whole feed (about 100 KB for a typical commune), stored out of line and
compressed. PostgreSQL's default compression (pglz) cost about 0.45 s of the server's CPU to store the
346 bodies of a full round on the project's 2-core machine; lz4 about 0.1 s, and it decompresses faster
when a feed is served. Only new values are written with lz4. A server built without lz4 keeps pglz.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (("feed_versions", "body"), ("record_states", "data"), ("version_changes", "old"), ("version_changes", "new"))


def _set_compression(method: str) -> None:
    if op.get_context().dialect.name != "postgresql":
        return  # SQLite does not compress values
    for table, column in COLUMNS:
        op.execute(
            f"""
            DO $$ BEGIN
                ALTER TABLE {table} ALTER COLUMN "{column}" SET COMPRESSION {method};
            EXCEPTION WHEN feature_not_supported THEN
                RAISE NOTICE 'compression {method} not supported by this server: {table}.{column} unchanged';
            END $$
            """
        )


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
