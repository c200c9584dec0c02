"""Evidence upload (editors) and the stable public URL of every uploaded file."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import File

from ._deps import SECURED, CurrentStaff, Runtime, Upload, editor_first
from .admin import provide_staff

__all__ = ["EVIDENCE_HANDLERS"]


@post(
    "/admin/api/evidence",
    tags=["evidence"],
    dependencies={"staff": Provide(provide_staff)},
    security=SECURED,
    guards=[editor_first],
)
async def upload_evidence(
    runtime: Runtime,
    staff: CurrentStaff,
    data: Annotated[Upload, Body(media_type=RequestEncodingType.MULTI_PART, description="Field 'data': the file.")],
) -> Response[dict[str, Any]]:
    """Store an evidence file; answer its SHA-256 and the stable URL to cite in a milestone."""
    staff.require("editor")
    content = await data.data.read(runtime.settings.max_upload_bytes + 1)
    row = await runtime.evidence.add(data.data.filename, content, staff.username)
    url = f"{runtime.settings.base_url}/evidence/{row.sha256}"
    body = {"url": url, "sha256": row.sha256, "size": row.size, "content_type": row.content_type}
    return Response(body, status_code=201, headers={"Location": url})


@get("/evidence/{sha256:str}", tags=["evidence"])
async def evidence_file(runtime: Runtime, sha256: FromPath[str]) -> File:
    """An uploaded evidence file, immutable at this URL."""
    row, path = await runtime.evidence.get(sha256)
    return File(
        path=path,
        filename=row.filename,
        media_type=row.content_type,
        content_disposition_type="attachment" if row.content_type.startswith("application/vnd") else "inline",
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


EVIDENCE_HANDLERS = [upload_evidence, evidence_file]
