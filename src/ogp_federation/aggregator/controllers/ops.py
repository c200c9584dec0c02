"""Push, status page, metrics and probes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ogp_federation.aggregator.status import render_status, status_rows

from ._deps import Runtime

__all__ = ["OPS_HANDLERS"]

STATUS_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@post("/push", tags=["push"], status_code=202, request_max_body_size=16 * 1024)
async def push(request: Request[Any, Any, Any], runtime: Runtime) -> dict[str, Any]:
    """A node's signed notice of a new sequence: verified, deduplicated, rate-limited, harvested at once."""
    token = (await request.body()).decode("ascii", "replace").strip()
    try:
        notice, new = await runtime.pushes.receive(token)
    except Exception:
        runtime.metrics.pushes.labels("refused").inc()
        raise
    runtime.metrics.pushes.labels("new" if new else "duplicate").inc()
    if new:
        runtime.background(runtime.scheduler.poll_now(notice.cut))
    return {"cut": notice.cut, "sequence": notice.sequence, "harvesting": new}


@get("/status", include_in_schema=False)
async def status_page(runtime: Runtime) -> Response[str]:
    """The federation's health, in Spanish."""
    rows = await status_rows(runtime.db, runtime.settings.stale_factor)
    return Response(
        render_status(rows),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": STATUS_CSP, "X-Content-Type-Options": "nosniff"},
    )


@get("/status.json", tags=["status"])
async def status_json(runtime: Runtime) -> dict[str, Any]:
    """The federation's health as data."""
    rows = await status_rows(runtime.db, runtime.settings.stale_factor)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return {"counts": counts, "communes": rows}


@get("/metrics", include_in_schema=False)
async def metrics(runtime: Runtime) -> Response[bytes]:
    """Prometheus metrics of this process."""
    runtime.metrics.queue_lag.set(await runtime.queue_lag())
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@get("/health", tags=["status"], sync_to_thread=False)
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/ready", tags=["status"])
async def ready(runtime: Runtime) -> dict[str, str]:
    """The database answers and is migrated (503 with the reason otherwise)."""
    await runtime.check_database()
    return {"status": "ready"}


OPS_HANDLERS = [push, status_page, status_json, metrics, health, ready]
