"""The status context: Chile's time on the status page, and /metrics restricted when the operators say so."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from agg_helpers import aggregator
from ogp_federation.aggregator.app import create_app
from ogp_federation.aggregator.status.service import chile_time


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 12, 1, 19, 30, tzinfo=UTC), "01-12-2026 16:30 (hora de Chile, UTC−3)"),  # summer
        (datetime(2026, 7, 1, 19, 30, tzinfo=UTC), "01-07-2026 15:30 (hora de Chile, UTC−4)"),  # winter
    ],
)
def test_times_are_shown_in_chile_with_the_zone_named(moment: datetime, shown: str) -> None:
    assert chile_time(moment) == shown


async def test_the_status_page_speaks_chile_time(tmp_path: Path) -> None:
    async with aggregator(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") as runtime:
        app = create_app(runtime.settings, runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a.test") as http:
            page = (await http.get("/status")).text
    assert "hora de Chile, UTC−" in page
    assert " UTC)" not in page


async def test_metrics_can_be_restricted_to_a_token(tmp_path: Path) -> None:
    scraper, operator = "ogpm_scraper-secret", "ogpa_operator-secret"
    digest = lambda token: hashlib.sha256(token.encode()).hexdigest()  # noqa: E731
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    async with aggregator(url) as public_runtime:
        app = create_app(public_runtime.settings, runtime=public_runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a.test") as http:
            public = await http.get("/metrics")
    async with aggregator(
        url, metrics_token_hashes=[digest(scraper)], admin_token_hashes=[digest(operator)]
    ) as runtime:
        app = create_app(runtime.settings, runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a.test") as http:
            anonymous = await http.get("/metrics")
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            allowed = await http.get("/metrics", headers={"Authorization": f"Bearer {scraper}"})
            by_operator = await http.get("/metrics", headers={"Authorization": f"Bearer {operator}"})
            admin_with_scraper = await http.get("/admin/api/nodes", headers={"Authorization": f"Bearer {scraper}"})
    assert public.status_code == 200
    assert "ogp_polls" in public.text
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert allowed.status_code == by_operator.status_code == 200
    assert "ogp_polls" in allowed.text
    assert admin_with_scraper.status_code == 401  # a scraper's token opens /metrics only
