"""Typed dependency aliases shared by the node's controllers (explicit, as Litestar 2.23+ asks)."""

from __future__ import annotations

from litestar.di import NamedDependency

from ogp_federation.node.auth import Staff
from ogp_federation.node.runtime import NodeRuntime

__all__ = ["CurrentStaff", "Runtime"]

Runtime = NamedDependency[NodeRuntime]
CurrentStaff = NamedDependency[Staff]
