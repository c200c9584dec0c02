"""versions harvested from change pages; when a node's full feed was last fetched

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 13:10:00
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=10), server_default="feed", nullable=False))
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("full_fetched_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_column("full_fetched_at")
    with op.batch_alter_table("feed_versions", schema=None) as batch_op:
        batch_op.drop_column("source")
