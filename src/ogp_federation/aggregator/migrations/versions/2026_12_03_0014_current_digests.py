"""a node's current version as record digests, in one row (a changed full feed is compared with it)

Empty at first: each node gets its row with its next accepted version.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "current_digests",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("digests", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_current_digests_node_id_nodes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["feed_versions.id"],
            name=op.f("fk_current_digests_version_id_feed_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_current_digests")),
    )


def downgrade() -> None:
    op.drop_table("current_digests")
