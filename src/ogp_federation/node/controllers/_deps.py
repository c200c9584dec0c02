"""Typed dependency aliases shared by the node's controllers (explicit, as Litestar 2.23+ asks)."""

from __future__ import annotations

from litestar.di import NamedDependency

from ..auth import Staff
from ..runtime import NodeRuntime

__all__ = ["CurrentStaff", "Runtime"]

Runtime = NamedDependency[NodeRuntime]
CurrentStaff = NamedDependency[Staff]
