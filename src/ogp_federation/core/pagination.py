"""Keyset (cursor) pagination: pages that stay exact however large a list grows and whatever lands meanwhile.

A cursor is opaque to clients: URL-safe base64 of a small JSON object that names the list it belongs
to and where the next page starts. It is not secret (everything it points to is public) but it is
checked: a cursor of another list, or one that does not decode, is a 400 naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlencode

import msgspec

from .errors import InvalidInputError

__all__ = ["MAX_CURSOR_LENGTH", "Page", "decode_cursor", "encode_cursor", "next_link"]

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)
MAX_CURSOR_LENGTH = 512


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and the cursor of the next page (None on the last one)."""

    items: list[T]
    next: str | None = None


def encode_cursor(position: msgspec.Struct) -> str:
    """The opaque text of ``position``."""
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).rstrip(b"=").decode()


def decode_cursor(text: str, kind: type[S]) -> S:
    """The position a cursor holds, or a 400 naming ``cursor`` (malformed, too long, or of another list)."""
    try:
        if len(text) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return msgspec.json.decode(raw, type=kind)
    except (ValueError, binascii.Error, msgspec.DecodeError) as exc:
        raise InvalidInputError(
            "cursor inválido: use el valor que entregó la página anterior",
            "invalid cursor: use the value the previous page gave",
            errors=[{"path": "cursor", "message": str(exc)[:200]}],
        ) from exc


def next_link(path: str, query: Mapping[str, str], cursor: str | None) -> dict[str, str]:
    """The ``Link: <…>; rel="next"`` header (RFC 8288) of a page, keeping the request's other parameters."""
    if cursor is None:
        return {}
    params = {key: value for key, value in query.items() if key != "cursor"} | {"cursor": cursor}
    return {"Link": f'<{path}?{urlencode(params)}>; rel="next"'}
