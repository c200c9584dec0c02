"""the methodology library's index: methodologies and commitments, searchable in Spanish

Both index the Spanish stems the aggregator computes (accents removed, Snowball Spanish): PostgreSQL in
a weighted ``tsvector`` column with a GIN index, SQLite in an FTS5 table (``library_fts``) whose row ids
are the entries' ids.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from ogp_federation.core.db import JSON_DOCUMENT

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "library_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("cut", sa.String(5), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("pillars", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("milestones", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("evidenced", sa.Integer(), nullable=False),
        sa.Column("has_resources", sa.Boolean(), nullable=False),
        sa.Column("license", sa.String(200), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("detail", JSON_DOCUMENT, nullable=False),
        sa.Column("search", postgresql.TSVECTOR() if postgres else sa.Text(), nullable=True),
        sa.UniqueConstraint("cut", "kind", "key"),
    )
    op.create_index("ix_library_entries_cut", "library_entries", ["cut"])
    op.create_table(
        "library_adoptions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("adopter_cut", sa.String(5), nullable=False),
        sa.Column("adopter_key", sa.String(128), nullable=False),
        sa.Column("source_cut", sa.String(5), nullable=False),
        sa.Column("source_key", sa.String(128), nullable=False),
    )
    op.create_index("ix_library_adoptions_source", "library_adoptions", ["source_cut", "source_key"])
    op.create_index("ix_library_adoptions_adopter", "library_adoptions", ["adopter_cut"])
    op.create_index("ix_library_entries_search", "library_entries", ["search"], postgresql_using="gin")
    if not postgres:
        op.execute(
            "CREATE VIRTUAL TABLE library_fts USING fts5("
            "title, summary, body, tokenize = 'unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS library_fts")
    op.drop_table("library_adoptions")
    op.drop_table("library_entries")
