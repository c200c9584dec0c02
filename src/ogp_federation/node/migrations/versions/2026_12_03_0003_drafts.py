"""drafts: records prepared but not published (adopted methodologies)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ogp_federation.core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("data", ogp_federation.core.db.JSON_DOCUMENT, nullable=False),
        sa.Column("origin", ogp_federation.core.db.JSON_DOCUMENT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", ogp_federation.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ogp_federation.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
        sa.UniqueConstraint("entity", "key", name=op.f("uq_drafts_entity")),
    )


def downgrade() -> None:
    op.drop_table("drafts")
