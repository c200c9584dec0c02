"""Push notices to aggregators: signed, sent in the background, retried with backoff, never blocking.

Only the newest sequence matters: while a notice to an aggregator is being retried, a newer
publication replaces it. Pending notices live in memory; an aggregator that misses one still polls.
Each attempt is signed afresh (aggregators refuse notices older than ten minutes). A refusal that
another attempt cannot change (a 4xx other than 408, 425 and 429) is logged and not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import httpx
import msgspec

from ogp_federation.feed import signing
from ogp_federation.feed.protocol import JOSE, PUSH_NOTICE_TYPE, PushNotice

from .keyring import KeyRing

__all__ = ["PushNotifier"]

_WORTH_RETRYING = {408, 425, 429}  # client errors that a later attempt may get past
logger = logging.getLogger(__name__)


class PushNotifier:
    """One background sender per aggregator URL."""

    def __init__(
        self,
        urls: list[str],
        keyring: KeyRing,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        first_delay: float = 1.0,
        max_delay: float = 300.0,
        max_attempts: int = 12,
    ) -> None:
        self.urls = urls
        self.keyring = keyring
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self._pending: dict[str, tuple[str, int, str]] = {}  # url → (cut, sequence, feed_url) to announce
        self._wakeups: dict[str, asyncio.Event] = {url: asyncio.Event() for url in urls}
        self._tasks: list[asyncio.Task[None]] = []
        self._client = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(10.0), follow_redirects=False)

    def start(self) -> None:
        """Start the senders (inside the running event loop)."""
        self._tasks = [asyncio.create_task(self._sender(url), name=f"push:{url}") for url in self.urls]

    async def stop(self) -> None:
        """Stop the senders and close the HTTP client."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()

    def notify(self, cut: str, sequence: int, feed_url: str) -> None:
        """Queue a notice of ``sequence`` for every aggregator; returns at once."""
        for url in self.urls:
            self._pending[url] = (cut, sequence, feed_url)
            self._wakeups[url].set()

    def _token(self, cut: str, sequence: int, feed_url: str) -> bytes:
        """The notice, signed now (its ``sent_at`` is this attempt's)."""
        notice = PushNotice(cut=cut, sequence=sequence, feed_url=feed_url, sent_at=datetime.now(UTC))
        return signing.sign_compact(msgspec.json.encode(notice), self.keyring.current, typ=PUSH_NOTICE_TYPE).encode()

    async def _sender(self, url: str) -> None:
        while True:
            await self._wakeups[url].wait()
            self._wakeups[url].clear()
            delay = self.first_delay
            for attempt in range(1, self.max_attempts + 1):
                pending = self._pending.get(url)
                if pending is None:
                    break
                if await self._send(url, self._token(*pending)):
                    if self._pending.get(url) is pending:
                        del self._pending[url]
                    break
                logger.warning("push to %s failed (attempt %d); retrying in %.0f s", url, attempt, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeups[url].wait(), timeout=delay)  # a newer notice: retry now
                self._wakeups[url].clear()
                delay = min(delay * 2, self.max_delay)

    async def _send(self, url: str, body: bytes) -> bool:
        """Whether the notice needs no further attempt: delivered, or refused for good (logged)."""
        try:
            response = await self._client.post(url, content=body, headers={"Content-Type": JOSE})
        except httpx.HTTPError:
            return False
        except Exception:  # e.g. a URL httpx refuses: logged, and the sender keeps serving later notices
            logger.exception("push to %s could not be sent", url)
            return False
        if response.is_client_error and response.status_code not in _WORTH_RETRYING:
            logger.warning("push to %s refused (HTTP %d): %r", url, response.status_code, response.text[:300])
            return True
        return response.is_success
