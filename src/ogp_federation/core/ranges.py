"""Serving a file whole, in part (``Range``, RFC 9110 §14) or not at all (``If-None-Match``: 304).

One byte range per request (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``); a request for several is
answered with the whole file, as RFC 9110 allows. A range that starts past the end is 416.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from litestar import Response
from litestar.response import Stream

__all__ = ["serve_file"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)\Z")
CHUNK = 256 * 1024


def _span(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(first, last) byte of the one range asked for; None: the whole file; False: unsatisfiable."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):  # none, several, or another unit: the whole file
        return None
    first, last = match.groups()
    if not first:  # the last n bytes
        length = int(last)
        return (max(0, size - length), size - 1) if length else False
    start = int(first)
    if start >= size or (last and int(last) < start):
        return False
    return start, min(int(last), size - 1) if last else size - 1


async def _chunks(path: Path, start: int, end: int) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def serve_file(
    path: Path, *, size: int, etag: str, media_type: str, headers: Mapping[str, str], cache: str
) -> Response[bytes] | Stream:
    """The answer to a GET of ``path`` given the request's ``headers`` (If-None-Match, Range, If-Range)."""
    common = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": cache}
    if etag in {tag.strip() for tag in headers.get("if-none-match", "").split(",")}:
        return Response(b"", status_code=304, headers=common)
    if_range = headers.get("if-range")
    span = _span(headers.get("range"), size) if if_range in (None, etag) else None
    if span is False:
        return Response(b"", status_code=416, headers={**common, "Content-Range": f"bytes */{size}"})
    if span is None or isinstance(span, bool):
        return Stream(
            _chunks(path, 0, size - 1), media_type=media_type, headers={**common, "Content-Length": str(size)}
        )
    start, end = span
    return Stream(
        _chunks(path, start, end),
        status_code=206,
        media_type=media_type,
        headers={**common, "Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(end - start + 1)},
    )
