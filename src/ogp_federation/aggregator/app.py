"""``create_app(settings)``: the association's aggregator."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.openapi import OpenAPIConfig

from ogp_federation import __version__
from ogp_federation.aggregator.controllers.admin import ADMIN_HANDLERS
from ogp_federation.core.http import SECURITY_HEADERS, answer_head_like_get, exception_handlers, service_wiring

from .controllers.api import API_HANDLERS
from .controllers.ops import OPS_HANDLERS
from .runtime import AggregatorRuntime
from .settings import AggregatorSettings

__all__ = ["create_app"]


def create_app(settings: AggregatorSettings, *, runtime: AggregatorRuntime | None = None) -> Litestar:
    """The aggregator app (the database must be migrated: ``aggregator db upgrade``)."""
    lifespan, provide_runtime = service_wiring(runtime or AggregatorRuntime(settings))
    return answer_head_like_get(
        Litestar(
            route_handlers=[*API_HANDLERS, *OPS_HANDLERS, *ADMIN_HANDLERS],
            dependencies={"runtime": provide_runtime},
            lifespan=[lifespan],
            exception_handlers=exception_handlers,
            response_headers=SECURITY_HEADERS,
            logging_config=None,  # the process that serves configures logging (core.logs), not the app
            # Feeds and record lists are JSON that shrinks five- to tenfold; level 6 keeps it cheap.
            compression_config=CompressionConfig(backend="gzip", minimum_size=1024, gzip_compress_level=6),
            openapi_config=OpenAPIConfig(title="ogp-federation aggregator", version=__version__, path="/schema"),
        )
    )
