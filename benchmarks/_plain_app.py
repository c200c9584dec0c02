"""A plain Litestar endpoint returning fixed bytes: the baseline for benchmarks/node_feed.py."""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar, Response, get


def app_factory() -> Litestar:
    """An app serving the file named by $PLAIN_BODY at /plan.json."""
    body = Path(os.environ["PLAIN_BODY"]).read_bytes()

    @get("/plan.json", media_type="application/json", sync_to_thread=False)
    def plain() -> Response[bytes]:
        return Response(body, media_type="application/json")

    return Litestar(route_handlers=[plain])
