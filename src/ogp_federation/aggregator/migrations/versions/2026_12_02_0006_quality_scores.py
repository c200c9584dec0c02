"""the publishers' data-quality scores, one row per commune, day and methodology version

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ogp_federation.core.db import JSON_DOCUMENT, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_scores",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("cut", sa.String(5), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("methodology", sa.String(10), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("timeliness", sa.Float(), nullable=True),
        sa.Column("completeness", sa.Float(), nullable=True),
        sa.Column("validity", sa.Float(), nullable=True),
        sa.Column("availability", sa.Float(), nullable=True),
        sa.Column("detail", JSON_DOCUMENT, nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("cut", "day", "methodology"),
    )
    op.create_index("ix_quality_scores_cut_day", "quality_scores", ["cut", "day"])


def downgrade() -> None:
    op.drop_table("quality_scores")
