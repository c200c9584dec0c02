"""the library's titles indexed on their own (PostgreSQL): a broad query ranks its title matches too

A GIN index over the title's part of the weighted ``tsvector`` (``ts_filter(search, '{a}')``). SQLite
needs nothing: its FTS5 table already indexes the title as a column of its own.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_library_entries_title ON library_entries USING gin (ts_filter(search, '{a}'::\"char\"[]))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_library_entries_title")
