"""Probes for whoever runs the node (a load balancer, systemd, Kubernetes): ``/health`` and ``/ready``."""

from __future__ import annotations

from litestar import get

from ._deps import Runtime

__all__ = ["OPS_HANDLERS"]


@get("/health", tags=["status"], sync_to_thread=False)
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/ready", tags=["status"])
async def ready(runtime: Runtime) -> dict[str, str]:
    """The database answers and is migrated, and a plan is published (503 with the reason otherwise)."""
    await runtime.check_ready()
    return {"status": "ready"}


OPS_HANDLERS = [health, ready]
