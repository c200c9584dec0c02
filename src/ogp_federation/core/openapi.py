"""The OpenAPI documents of both apps: served with a viewer whose files come from the package (no CDN).

The viewer is Swagger UI, from the ``swagger-ui-bundle`` package; its files are served by the app
under ``/schema-assets``, so the documentation works on a closed network. Each app declares its
security schemes; every documented operation may answer a problem document (RFC 9457).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

__all__ = ["ASSETS_PATH", "BEARER", "SECURED", "openapi_config", "viewer_assets"]

ASSETS_PATH = "/schema-assets"
BEARER = "bearer"  # the name of the security scheme of ``Authorization: Bearer …`` tokens
SECURED: list[dict[str, list[str]]] = [{BEARER: []}]  # what a handler that needs a token declares
_FAVICON = f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>"


def openapi_config(*, title: str, version: str, description: str, bearer: str) -> OpenAPIConfig:
    """The app's OpenAPI configuration: ``/schema`` (viewer), ``/schema/openapi.json``, the bearer scheme."""
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
        components=Components(
            security_schemes={BEARER: SecurityScheme(type="http", scheme="bearer", description=bearer)}
        ),
    )


def viewer_assets() -> Any:
    """The route that serves the viewer's files from the package."""
    vendor = Path(str(resources.files("swagger_ui_bundle"))) / "vendor"
    folder = max(vendor.glob("swagger-ui-*"))  # the package ships one version of the viewer
    return create_static_files_router(path=ASSETS_PATH, directories=[folder], include_in_schema=False)
