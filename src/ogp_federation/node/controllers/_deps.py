"""Typed dependency aliases shared by the node's controllers (explicit, as Litestar 2.23+ asks), and uploads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from ogp_federation.core.openapi import SECURED
from ogp_federation.node.auth import Staff
from ogp_federation.node.runtime import NodeRuntime

__all__ = ["SECURED", "CurrentStaff", "Runtime", "Upload", "editor_first"]

Runtime = NamedDependency[NodeRuntime]
CurrentStaff = NamedDependency[Staff]


@dataclass
class Upload:
    """A multipart form whose part ``data`` is the file (a plain field of that name is refused with 400)."""

    data: UploadFile


async def editor_first(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of the upload endpoints: an editor's token is checked before any byte of the body is parsed."""
    runtime: NodeRuntime = connection.app.state["runtime"]
    staff = await runtime.staff.authenticate(connection.headers.get("authorization"))
    staff.require("editor")
    connection.state["staff"] = staff
