"""The status page, its JSON twin, the communes listing, metrics and probes."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import QueryParameter
from prometheus_client import CONTENT_TYPE_LATEST

from ogp_federation.aggregator.common.operators import METRICS_READER
from ogp_federation.core.i18n import negotiate

from .schemas import FederationStatus, StatusRow
from .service import StatusService

__all__ = ["HANDLERS"]

Status = NamedDependency[StatusService]
Filter = Annotated[str, QueryParameter(max_length=100)]
STATUS_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@get("/status", include_in_schema=False)
async def status_page(
    status: Status, request: Request[Any, Any, Any], region: Filter = "", estado: Filter = ""
) -> Response[str]:
    """The federation's health, in Spanish (``?lang=en`` or ``Accept-Language`` for English), by region and state."""
    locale = negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
    return Response(
        await status.page(locale, region=region, state=estado),
        media_type=MediaType.HTML,
        headers={"Content-Security-Policy": STATUS_CSP, "X-Content-Type-Options": "nosniff", "Vary": "Accept-Language"},
    )


@get("/status.json", tags=["status"])
async def status_json(status: Status) -> FederationStatus:
    """The federation's health as data."""
    return await status.federation()


@get("/api/v1/communes", tags=["read"])
async def communes(status: Status) -> list[StatusRow]:
    """Every commune with its node's state."""
    return await status.rows()


@get("/metrics", include_in_schema=False, dependencies=METRICS_READER)
async def metrics(status: Status, reader: NamedDependency[None]) -> Response[bytes]:
    """Prometheus metrics of this process."""
    # Litestar adds "; charset=utf-8" to every text/* type itself: give the type without it.
    media_type = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")
    return Response(await status.metrics_text(), media_type=media_type)


@get("/health", tags=["status"], sync_to_thread=False)
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/ready", tags=["status"])
async def ready(status: Status) -> dict[str, str]:
    """The database answers and is migrated (503 with the reason otherwise)."""
    await status.ready()
    return {"status": "ready"}


HANDLERS = [status_page, status_json, communes, metrics, health, ready]
