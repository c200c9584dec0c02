"""``create_app(settings)``: the association's aggregator, each sub-context contributing its handlers."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.middleware import DefineMiddleware

from ogp_federation import __version__
from ogp_federation.core.etags import ETagMiddleware
from ogp_federation.core.http import (
    NOT_COMPRESSED,
    SECURITY_HEADERS,
    answer_head_like_get,
    exception_handlers,
    provide_value,
    service_wiring,
    time_answers,
)
from ogp_federation.core.openapi import document_problems, openapi_config, viewer_assets

from .benchmarks import controllers as benchmarks
from .common import AggregatorSettings
from .harvest import controllers as harvest
from .history import controllers as history
from .library import controllers as library
from .quality import controllers as quality
from .registry import controllers as registry
from .research import SCOPES
from .research import controllers as research
from .review import controllers as review
from .runtime import AggregatorRuntime
from .status import controllers as status
from .web import controllers as web

__all__ = ["create_app"]


def create_app(settings: AggregatorSettings, *, runtime: AggregatorRuntime | None = None) -> Litestar:
    """The aggregator app (the database must be migrated: ``aggregator db upgrade``)."""
    runtime = runtime or AggregatorRuntime(settings)
    lifespan, provide_runtime = service_wiring(runtime)
    dependencies = {name: provide_value(service) for name, service in runtime.dependencies().items()}
    return time_answers(
        answer_head_like_get(
            document_problems(
                Litestar(
                    route_handlers=[
                        *history.HANDLERS,
                        *status.HANDLERS,
                        *harvest.HANDLERS,
                        *registry.HANDLERS,
                        *review.HANDLERS,
                        *benchmarks.HANDLERS,
                        *quality.HANDLERS,
                        *library.HANDLERS,
                        *research.HANDLERS,
                        *web.HANDLERS,
                        viewer_assets(),
                    ],
                    dependencies={"runtime": provide_runtime, **dependencies},
                    lifespan=[lifespan],
                    middleware=[DefineMiddleware(ETagMiddleware, prefixes=("/api/",))],
                    exception_handlers=exception_handlers,
                    response_headers=SECURITY_HEADERS,
                    logging_config=None,  # the process that serves configures logging (core.logs), not the app
                    # Feeds and record lists are JSON that shrinks five- to tenfold; level 6 keeps it cheap.
                    compression_config=CompressionConfig(
                        backend="gzip", minimum_size=1024, gzip_compress_level=6, exclude_opt_key=NOT_COMPRESSED
                    ),
                    openapi_config=openapi_config(
                        title="ogp-federation aggregator",
                        version=__version__,
                        description="Agregador de la Asociación: registro, cosecha verificada, historia y estado.",
                        bearer="Operator token (`ogp-federation aggregator admin-token`); only the admin API needs it.",
                        oauth2=("/oauth/token", SCOPES),
                    ),
                ),
                own_errors=research.OAUTH_PATHS,
            )
        )
    )
