"""communes keep the population and SUBDERE group their feeds declare, beside the operator's values

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communes") as batch:
        batch.add_column(sa.Column("declared_population", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("declared_subdere_group", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("communes") as batch:
        batch.drop_column("declared_subdere_group")
        batch.drop_column("declared_population")
