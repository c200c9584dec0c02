"""Alembic environment of the node's database."""

from __future__ import annotations

from ogp_federation.core.migrations import run_env
from ogp_federation.node.models import NodeBase

run_env(NodeBase.metadata)
