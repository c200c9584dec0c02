"""Reading documents from files or http(s) URLs with a size cap; finding the fixture feeds."""

from __future__ import annotations

from pathlib import Path

import click
import httpx

from ogp_federation.core.errors import FetchError

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "fixture_feeds", "read_source"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
FEEDS_HELP = "Folder with the fixture feeds [default: fixtures/feeds here, else the source checkout's]."


def fixture_feeds(given: Path | None, names: tuple[str, ...]) -> Path:
    """The folder holding ``names``: ``given``, else ``./fixtures/feeds``, else the source checkout's."""
    checkout = Path(__file__).resolve().parents[3] / "fixtures" / "feeds"
    candidates = [given] if given is not None else [Path("fixtures/feeds"), checkout]
    for folder in candidates:
        if all((folder / name).is_file() for name in names):
            return folder
    missing = candidates[0] / names[0]
    raise _MissingFeeds(
        f"no existe {missing}; indique --feeds o ejecute desde la raíz del repositorio"
        f" / {missing} does not exist; pass --feeds or run from the repository's root"
    )


class _MissingFeeds(click.ClickException):
    exit_code = EXIT_USAGE


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
