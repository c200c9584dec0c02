"""The push endpoint: a node's signed notice of a new sequence, harvested at once."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency

from .service import PushAccepted, PushService

__all__ = ["HANDLERS"]


@post("/push", tags=["push"], status_code=202, request_max_body_size=16 * 1024)
async def push(request: Request[Any, Any, Any], pushes: NamedDependency[PushService]) -> PushAccepted:
    """A node's signed notice of a new sequence: verified, deduplicated, rate-limited, harvested at once."""
    token = (await request.body()).decode("ascii", "replace").strip()
    return await pushes.accept(token)


HANDLERS = [push]
