"""Reading documents from files or http(s) URLs with a size cap, and writing secrets safely."""

from __future__ import annotations

import os
from pathlib import Path

import click
import httpx

from ogp_federation.core.errors import FetchError

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "read_source", "write_secret"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def read_source(source: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of a local path or an http(s) URL, refusing anything over ``max_bytes``."""
    if source.startswith(("http://", "https://")):
        return _fetch(source, max_bytes)
    path = Path(source)
    try:
        if path.stat().st_size > max_bytes:
            raise FetchError(
                f"{source}: supera {max_bytes} bytes",
                f"{source}: larger than {max_bytes} bytes",
                code="fetch.too_large",
            )
        return path.read_bytes()
    except OSError as exc:
        raise FetchError(f"no se pudo leer {source}", f"cannot read {source}", detail=exc.strerror) from exc


def _fetch(url: str, max_bytes: int) -> bytes:
    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=True, max_redirects=5) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise FetchError(
                    f"{url} respondió HTTP {response.status_code}",
                    f"{url} answered HTTP {response.status_code}",
                    code="fetch.status",
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(
                        f"{url}: supera {max_bytes} bytes",
                        f"{url}: larger than {max_bytes} bytes",
                        code="fetch.too_large",
                    )
            return bytes(body)
    except httpx.HTTPError as exc:
        raise FetchError(f"no se pudo descargar {url}", f"cannot download {url}", detail=str(exc)) from exc


def write_secret(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), never widening an existing file."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise click.ClickException(f"{path} ya existe; use --force para reemplazarlo / already exists") from exc
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
