"""Where a node's documents are read from: a live node over HTTP, or a static export's folder.

The checks see every answer the same way (:class:`Answer`); the aggregator passes its own source,
guarded against SSRF, so the same checks run there on registration.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

__all__ = ["Answer", "FolderSource", "HttpSource", "Source", "SourceError"]

MAX_BYTES = 64 * 1024 * 1024
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class SourceError(Exception):
    """A document that could not be read at all (no connection, timeout, too large, a broken TLS)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Answer:
    """One answer: status, headers (lower-case names), the decoded body, bytes on the wire, time taken."""

    url: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    wire_bytes: int = 0
    seconds: float = 0.0
    tls_version: str | None = None


class Source(Protocol):
    """Reads a node's documents."""

    live: bool  # False for a folder: HTTP behaviour (validators, compression, timing) is not checked

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> Answer:
        """The answer to GET ``url`` (any status), or :class:`SourceError`."""
        ...


class HttpSource:
    """A live node over HTTP(S): certificates checked, redirects followed (three at most), bodies capped."""

    live = True

    def __init__(
        self, *, transport: httpx.AsyncBaseTransport | None = None, max_bytes: int = MAX_BYTES, verify: bool = True
    ) -> None:
        self.client = httpx.AsyncClient(
            timeout=TIMEOUT, follow_redirects=True, max_redirects=3, transport=transport, verify=verify
        )
        self.max_bytes = max_bytes

    async def close(self) -> None:
        """Close the connections."""
        await self.client.aclose()

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> Answer:
        """The answer to GET ``url``."""
        start = time.perf_counter()
        try:
            async with self.client.stream("GET", url, headers=dict(headers or {})) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise SourceError("body.too_large", f"more than {self.max_bytes} bytes")
                stream = response.extensions.get("network_stream")
                tls = stream.get_extra_info("ssl_object") if stream is not None else None
                return Answer(
                    url=str(response.url),
                    status=response.status_code,
                    headers={name.lower(): value for name, value in response.headers.items()},
                    body=bytes(body),
                    wire_bytes=response.num_bytes_downloaded,
                    seconds=time.perf_counter() - start,
                    tls_version=tls.version() if tls is not None else None,
                )
        except httpx.TimeoutException as exc:
            raise SourceError("timeout", str(exc) or type(exc).__name__) from exc
        except httpx.TooManyRedirects as exc:
            raise SourceError("redirect.limit", str(exc)) from exc
        except httpx.ConnectError as exc:
            code = "tls" if "CERTIFICATE" in str(exc).upper() or "SSL" in str(exc).upper() else "connect"
            raise SourceError(code, str(exc) or type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise SourceError("http", str(exc) or type(exc).__name__) from exc


class FolderSource:
    """A static export in a local folder, as a web server would serve it from ``base_url``."""

    live = False

    def __init__(self, folder: Path, base_url: str) -> None:
        self.folder = folder.resolve()
        self.base_path = urlsplit(base_url).path.rstrip("/")

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> Answer:
        """The file the URL names under the folder (404 when there is none, or when it leaves the folder)."""
        path = urlsplit(url).path
        if not path.startswith(self.base_path + "/"):
            return Answer(url=url, status=404)
        target = (self.folder / path[len(self.base_path) + 1 :]).resolve()
        if not target.is_relative_to(self.folder) or not target.is_file():
            return Answer(url=url, status=404)
        if target.stat().st_size > MAX_BYTES:
            raise SourceError("body.too_large", f"more than {MAX_BYTES} bytes")
        body = target.read_bytes()
        return Answer(url=url, status=200, body=body, wire_bytes=len(body))
