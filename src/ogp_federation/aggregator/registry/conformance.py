"""The protocol's conformance checks run by the aggregator, through its own guarded fetcher.

What the commune runs with ``node check``, the aggregator runs on registration: the same checks, but
every request goes through the SSRF guard, the timeouts and the size limits of the harvest.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from ogp_federation.aggregator.net import Fetcher, FetchFailedError
from ogp_federation.conformance import Answer, SourceError

__all__ = ["GuardedSource"]


class GuardedSource:
    """A :class:`~ogp_federation.conformance.Source` over the aggregator's fetcher (HTTP statuses kept)."""

    live = True

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> Answer:
        """The answer to GET ``url``; a status the fetcher refuses comes back as that status."""
        start = time.perf_counter()
        try:
            fetched = await self.fetcher.get(url, dict(headers or {}))
        except FetchFailedError as exc:
            status = exc.code.removeprefix("http.")
            if exc.code.startswith("http.") and status.isdigit():
                return Answer(url=url, status=int(status), seconds=time.perf_counter() - start)
            raise SourceError(exc.code, exc.describe("en")) from exc
        return Answer(
            url=fetched.url,
            status=fetched.status,
            headers={name.lower(): value for name, value in fetched.headers.items()},
            body=fetched.body,
            wire_bytes=fetched.wire_bytes,
            seconds=time.perf_counter() - start,
        )
