"""versions harvested from change pages; when a node's full feed was last fetched; record digests;
64-bit sequences

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ogp_federation.core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


# The standard allows sequences up to 2**53: 32-bit columns on PostgreSQL refused to store such a version.
SEQUENCES = {
    "nodes": ["sequence"],
    "feed_versions": ["sequence"],
    "record_states": ["valid_from_seq", "valid_to_seq"],
    "push_receipts": ["sequence"],
}


def upgrade() -> None:
    with op.batch_alter_table("feed_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=10), server_default="feed", nullable=False))
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("full_fetched_at", ogp_federation.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("record_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest", sa.String(length=32), nullable=True))
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer())
    with op.batch_alter_table("record_states", schema=None) as batch_op:
        batch_op.drop_column("digest")
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_column("full_fetched_at")
    with op.batch_alter_table("feed_versions", schema=None) as batch_op:
        batch_op.drop_column("source")


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name == "sqlite":  # INTEGER is already 64-bit there: no table re-created
        return
    for table, columns in SEQUENCES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=old, type_=new)
