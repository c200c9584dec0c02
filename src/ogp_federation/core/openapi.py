"""The OpenAPI documents of both apps: served with a viewer whose files come from the package (no CDN).

The viewer is Swagger UI, from the ``swagger-ui-bundle`` package; its files are served by the app
under ``/schema-assets``, so the documentation works on a closed network. Each app declares its
security schemes; every documented operation may answer a problem document (RFC 9457).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import (
    Components,
    OAuthFlow,
    OAuthFlows,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.static_files import create_static_files_router

__all__ = ["ASSETS_PATH", "BEARER", "SECURED", "document_problems", "openapi_config", "viewer_assets"]

ASSETS_PATH = "/schema-assets"
BEARER = "bearer"  # the name of the security scheme of ``Authorization: Bearer …`` tokens
SECURED: list[dict[str, list[str]]] = [{BEARER: []}]  # what a handler that needs a token declares
_FAVICON = f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>"


def openapi_config(
    *, title: str, version: str, description: str, bearer: str, oauth2: tuple[str, dict[str, str]] | None = None
) -> OpenAPIConfig:
    """The app's OpenAPI configuration: ``/schema`` (viewer), ``/schema/openapi.json``, the security schemes.

    ``oauth2`` (token URL, scopes) adds an OAuth 2.0 client-credentials scheme named ``oauth2``.
    """
    schemes: dict[str, SecurityScheme | Reference] = {
        BEARER: SecurityScheme(type="http", scheme="bearer", description=bearer)
    }
    if oauth2 is not None:
        token_url, scopes = oauth2
        flows = OAuthFlows(client_credentials=OAuthFlow(token_url=token_url, scopes=scopes))
        schemes["oauth2"] = SecurityScheme(type="oauth2", flows=flows, description="Researchers' API clients.")
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon=_FAVICON,
                path=["/", "/swagger"],
            ),
            JsonRenderPlugin(),
            YamlRenderPlugin(),
        ],
        components=Components(security_schemes=schemes),
    )


def viewer_assets() -> Any:
    """The route that serves the viewer's files from the package."""
    vendor = Path(str(resources.files("swagger_ui_bundle"))) / "vendor"
    folder = max(vendor.glob("swagger-ui-*"))  # the package ships one version of the viewer
    return create_static_files_router(path=ASSETS_PATH, directories=[folder], include_in_schema=False)


_TEXT = Schema(type=OpenAPIType.STRING)
PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    description="A problem document (RFC 9457): what went wrong, in Spanish and English, and where.",
    required=["type", "title", "status", "code"],
    properties={
        "type": _TEXT,
        "title": _TEXT,
        "status": Schema(type=OpenAPIType.INTEGER),
        "code": Schema(type=OpenAPIType.STRING, description="Stable code, e.g. not_found, invalid_input."),
        "detail": _TEXT,
        "message": Schema(type=OpenAPIType.STRING, description="Spanish."),
        "message_en": Schema(type=OpenAPIType.STRING, description="English."),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.OBJECT, description="One problem: its path and message."),
        ),
    },
)
_ANY_JSON = Schema(description="A JSON document (a feed, a change page or a record, as published).")


def document_problems(
    app: Litestar, *, files: dict[str, list[str]] | None = None, own_errors: frozenset[str] = frozenset()
) -> Litestar:
    """Say in the OpenAPI document what every operation may answer besides success: a problem document.

    Litestar documents its own validation errors (400) as plain JSON and nothing else; every error of
    this project is ``application/problem+json``, so each operation gets the problem schema for 400
    and as its ``default`` answer (401, 403, 404, 409, 412, 413, 415, 422, 429, 503…). Bytes served as
    JSON (feeds, keys, exact signed documents) are documented as JSON, not as a string; ``files`` names
    the paths that answer files, with their media types. The paths in ``own_errors`` answer errors in a
    format of their own (OAuth 2.0's ``{"error": …}``) and keep what their handlers declare.
    """
    binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
    problem = OpenAPIResponse(
        description="Problema (RFC 9457) / problem document",
        content={"application/problem+json": OpenAPIMediaType(schema=PROBLEM)},
    )
    for path, item in (app.openapi_schema.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch", "head"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses or {}
            for response in responses.values():
                for kind, media in ((response.content or {}) if isinstance(response, OpenAPIResponse) else {}).items():
                    text = isinstance(media.schema, Schema) and media.schema.type == OpenAPIType.STRING
                    if text and (kind == "application/json" or kind.endswith("+json")):
                        media.schema = _ANY_JSON
            ok = responses.get("200")
            if path in (files or {}) and isinstance(ok, OpenAPIResponse):
                ok.content = {kind: OpenAPIMediaType(schema=binary) for kind in (files or {})[path]}
            if path in own_errors:
                operation.responses = responses
                continue
            responses["400"] = problem
            responses.setdefault("default", problem)
            operation.responses = responses
    return app
