"""Reading documents from files or http(s) URLs with a size cap."""

from __future__ import annotations

from pathlib import Path

import httpx

from ogp_federation.core.errors import FetchError

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "read_source"]

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
