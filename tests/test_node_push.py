"""The node's push sender against a receiver over HTTP (ASGI): fresh signatures, what is retried and what is not."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ogp_federation.feed import signing
from ogp_federation.feed.protocol import PUSH_NOTICE_TYPE
from ogp_federation.node.keyring import KeyRing
from ogp_federation.node.push import PushNotifier

FEED_URL = "https://ga.penalolen.cl/feed/v1/plan.json"


class Receiver:
    """An aggregator's /push stand-in answering each path with its own list of statuses (the last repeats)."""

    def __init__(self, answers: dict[str, list[int]]) -> None:
        self.answers = answers
        self.bodies: dict[str, list[str]] = {path: [] for path in answers}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        self.bodies[path].append(body.decode())
        statuses = self.answers[path]
        status = statuses[min(len(self.bodies[path]), len(statuses)) - 1]
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"answer"})


async def _until(condition: Any, seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)


async def test_each_attempt_is_signed_afresh_and_a_final_refusal_is_not_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ring = KeyRing.create(tmp_path / "keys")
    receiver = Receiver({"/flaky": [503, 429, 202], "/refuses": [422], "/unknown": [404]})
    urls = [f"http://aggregator.test{path}" for path in receiver.answers]
    notifier = PushNotifier(urls, ring, transport=httpx.ASGITransport(app=receiver), first_delay=0.02)
    notifier.start()
    try:
        notifier.notify("13122", 5, FEED_URL)
        await _until(lambda: len(receiver.bodies["/flaky"]) == 3)
        await asyncio.sleep(0.3)  # several retry delays: a refused notice would have been sent again by now
    finally:
        await notifier.stop()
    keys = signing.load_jwks(json.dumps(ring.jwks(datetime.now(UTC), timedelta(days=1))))
    tokens = receiver.bodies["/flaky"]
    notices = [json.loads(signing.verify_compact(token, keys, typ=PUSH_NOTICE_TYPE)[0]) for token in tokens]
    assert [n["sequence"] for n in notices] == [5, 5, 5]
    assert len({n["sent_at"] for n in notices}) == 3  # signed at each attempt: never stale after long retries
    assert len(receiver.bodies["/refuses"]) == 1
    assert len(receiver.bodies["/unknown"]) == 1
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert any("HTTP 422" in m for m in refusals)
    assert any("HTTP 404" in m for m in refusals)
