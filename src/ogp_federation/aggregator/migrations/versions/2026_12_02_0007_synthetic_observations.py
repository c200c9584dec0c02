"""observations of the benchmarks say whether they come from generated (synthetic) feeds; a commune's
rows are indexed by indicator (a comparison's trend reads one indicator of one commune)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bench_observations") as batch:
        batch.add_column(sa.Column("synthetic", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.drop_index("ix_bench_commune", table_name="bench_observations")
    op.create_index("ix_bench_commune_code", "bench_observations", ["cut", "code", "valid_to"])


def downgrade() -> None:
    op.drop_index("ix_bench_commune_code", table_name="bench_observations")
    op.create_index("ix_bench_commune", "bench_observations", ["cut", "valid_to"])
    with op.batch_alter_table("bench_observations") as batch:
        batch.drop_column("synthetic")
