"""The node's OpenAPI document describes each record collection's bodies with the standard's own schemas.

The admin API reads record bodies as plain JSON (the standard's validator, not the web framework, then
names every problem with its path); the document still says exactly what a record is, from the same
structures the JSON Schema of the feed comes from.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, RequestBody

from ogp_federation.feed import COLLECTIONS

__all__ = ["document_records"]

_PREFIX = "feed."


def document_records(app: Litestar) -> Litestar:
    """Point each ``/admin/api/<collection>`` operation's body and answer at its record's schema."""
    openapi = app.openapi_schema
    types = [collection.record_type for collection in COLLECTIONS]
    refs, definitions = msgspec.json.schema_components(types, ref_template=f"#/components/schemas/{_PREFIX}{{name}}")
    schemas: dict[str, Any] = openapi.components.schemas
    schemas.update({f"{_PREFIX}{name}": definition for name, definition in definitions.items()})
    paths = openapi.paths or {}
    for collection, ref in zip(COLLECTIONS, refs, strict=True):
        base = f"/admin/api/{collection.entity.value}"
        many = paths.get(base)
        one = paths.get(f"{base}/{{key}}")
        for operation, shape in (
            (
                many.get if many else None,
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["record", "version"],
                        "properties": {"record": ref, "version": {"type": "integer", "minimum": 1}},
                    },
                },
            ),
            (many.post if many else None, ref),
            (one.get if one else None, ref),
            (one.put if one else None, ref),
        ):
            if operation is None:
                continue
            if operation.request_body is not None:
                operation.request_body = RequestBody(
                    content={"application/json": OpenAPIMediaType(schema=ref)},  # type: ignore[arg-type]
                    description=operation.request_body.description,
                    required=True,
                )
            for status, response in (operation.responses or {}).items():
                if status in ("200", "201") and isinstance(response, OpenAPIResponse) and response.content:
                    response.content = {"application/json": OpenAPIMediaType(schema=shape)}  # type: ignore[arg-type]
    return app
