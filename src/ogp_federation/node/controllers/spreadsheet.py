"""Spreadsheet import (upload) and export (download) for editors."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Response, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery

from ogp_federation.node.spreadsheet.service import FORMATS, export_workbook, import_workbook

from ._deps import SECURED, CurrentStaff, Runtime, Upload, editor_first
from .admin import provide_staff

__all__ = ["SPREADSHEET_HANDLERS"]

_staff = {"staff": Provide(provide_staff)}


@post("/admin/api/import", tags=["spreadsheet"], dependencies=_staff, security=SECURED, guards=[editor_first])
async def import_upload(
    runtime: Runtime,
    staff: CurrentStaff,
    data: Annotated[
        Upload, Body(media_type=RequestEncodingType.MULTI_PART, description="Field 'data': an XLSX or a zip of CSV.")
    ],
) -> dict[str, Any]:
    """Replace the plan with the uploaded workbook: all or nothing, every bad cell reported (422)."""
    staff.require("editor")
    content = await data.data.read(runtime.settings.max_upload_bytes + 1)
    result = await import_workbook(runtime, data.data.filename, content, author=staff.username)
    return {"sequence": result.sequence, "records": result.records, "warnings": result.warnings}


@get("/admin/api/export", tags=["spreadsheet"], dependencies=_staff, security=SECURED)
async def export_download(
    runtime: Runtime,
    staff: CurrentStaff,
    format: FromQuery[Literal["xlsx", "csv"]] = "xlsx",
    template: FromQuery[bool] = False,
) -> Response[bytes]:
    """The plan (or the empty template) as a workbook."""
    media_type, filename = FORMATS[format]
    content = await export_workbook(runtime, format, template=template)
    name = ("plantilla-" if template else "") + filename
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


SPREADSHEET_HANDLERS = [import_upload, export_download]
