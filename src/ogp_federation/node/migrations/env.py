"""Alembic environment of the node's database (connection supplied by ogp_federation.core.migrations)."""

from __future__ import annotations

from alembic import context

from ogp_federation.node.models import NodeBase

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the node's migrations with 'ogp-federation node db upgrade'")
context.configure(connection=connection, target_metadata=NodeBase.metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
