"""every key ever pinned for a node is kept, so old versions stay checkable after a rotation

The keys pinned now are copied in.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from ogp_federation.core.db import JSON_DOCUMENT, UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "node_keys",
        sa.Column("cut", sa.String(5), primary_key=True),
        sa.Column("kid", sa.String(100), primary_key=True),
        sa.Column("jwk", JSON_DOCUMENT, nullable=False),
        sa.Column("first_pinned_at", UTCDateTime(timezone=True), nullable=False),
    )
    now = datetime.now(UTC)
    rows = []
    for cut, keys in op.get_bind().execute(sa.text("SELECT cut, keys FROM nodes")).all():
        document = json.loads(keys) if isinstance(keys, str) else keys
        for key in (document or {}).get("keys", []):
            if isinstance(key, dict) and isinstance(key.get("kid"), str):
                rows.append({"cut": cut, "kid": key["kid"], "jwk": key, "first_pinned_at": now})
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("node_keys")
