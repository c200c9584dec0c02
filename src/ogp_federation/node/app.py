"""``create_app(settings)``: the commune node's Litestar application."""

from __future__ import annotations

import httpx
from litestar import Litestar
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State

from ogp_federation import __version__
from ogp_federation.core.http import SECURITY_HEADERS, answer_head_like_get, exception_handlers, service_wiring
from ogp_federation.core.openapi import document_problems, openapi_config, viewer_assets
from ogp_federation.feed.reference import CommuneReference

from .controllers.admin import ADMIN_HANDLERS
from .controllers.citizen import CITIZEN_HANDLERS
from .controllers.drafts import DRAFT_HANDLERS
from .controllers.evidence import EVIDENCE_HANDLERS
from .controllers.feed import FEED_HANDLERS
from .controllers.ops import OPS_HANDLERS
from .controllers.spreadsheet import SPREADSHEET_HANDLERS
from .openapi import document_records
from .runtime import NodeRuntime
from .settings import NodeSettings
from .spreadsheet.service import FORMATS

__all__ = ["create_app"]


def create_app(
    settings: NodeSettings,
    *,
    reference: CommuneReference | None = None,
    push_transport: httpx.AsyncBaseTransport | None = None,
    library_transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    """The node app for ``settings`` (the database must be migrated and the key created: ``node init``)."""
    runtime = NodeRuntime(
        settings, reference=reference, push_transport=push_transport, library_transport=library_transport
    )
    lifespan, provide_runtime = service_wiring(runtime)
    return answer_head_like_get(
        document_problems(
            document_records(
                Litestar(
                    route_handlers=[
                        *FEED_HANDLERS,
                        *ADMIN_HANDLERS,
                        *DRAFT_HANDLERS,
                        *EVIDENCE_HANDLERS,
                        *SPREADSHEET_HANDLERS,
                        *CITIZEN_HANDLERS,
                        *OPS_HANDLERS,
                        viewer_assets(),
                    ],
                    dependencies={"runtime": provide_runtime},
                    state=State({"runtime": runtime}),  # for guards, which run before dependencies are resolved
                    lifespan=[lifespan],
                    exception_handlers=exception_handlers,
                    response_headers=SECURITY_HEADERS,
                    logging_config=None,  # the process that serves configures logging (core.logs), not the app
                    request_max_body_size=settings.max_upload_bytes + 64 * 1024,
                    response_cache_config=ResponseCacheConfig(),
                    openapi_config=openapi_config(
                        title=f"ogp-federation node {settings.cut}",
                        version=__version__,
                        description="Nodo comunal de Gobierno Abierto: feed firmado y API de administración.",
                        bearer="Staff token (`ogp-federation node token create`, or POST /admin/api/login).",
                    ),
                ),
            ),
            files={"/admin/api/export": [media for media, _ in FORMATS.values()]},
        )
    )
