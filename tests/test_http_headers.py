"""Headers every answer of both apps gets right: one media type with at most one charset, and nosniff;
the aggregator also says how long each answer took (``Server-Timing``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from agg_helpers import aggregator
from node_helpers import client, load_fixture, make_node
from ogp_federation.aggregator.app import create_app


def _static_get_paths(app: Any) -> list[str]:
    """Every GET route of ``app`` without path parameters (the ones a crawler reaches by itself)."""
    paths = []
    for route in app.routes:
        if "{" in route.path or not hasattr(route, "route_handlers"):
            continue
        if any("GET" in (handler.http_methods or ()) for handler in route.route_handlers):
            paths.append(route.path)
    return sorted(set(paths))


def _check(response: httpx.Response, path: str) -> None:
    content_type = response.headers.get("content-type", "")
    assert content_type.lower().count("charset=") <= 1, f"{path}: {content_type}"
    assert response.headers.get("x-content-type-options") == "nosniff", path


def _timed(response: httpx.Response, path: str) -> None:
    """The aggregator says how long it took to answer (what the dashboard's benchmark reads)."""
    timing = response.headers.get("server-timing", "")
    assert re.fullmatch(r"app;dur=[0-9]+\.[0-9]", timing), f"{path}: {timing!r}"


async def test_every_node_page_has_one_charset(tmp_path: Path) -> None:
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    await load_fixture(settings)
    async with client(settings) as http:
        paths = _static_get_paths(http.app)
        assert "/" in paths
        for path in [*paths, "/plan/c1"]:
            _check(await http.get(path), path)
        assert (await http.get("/")).headers["content-type"] == "text/html; charset=utf-8"


async def test_every_aggregator_page_has_one_charset(tmp_path: Path) -> None:
    async with aggregator(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") as runtime:
        app = create_app(runtime.settings, runtime=runtime)
        paths = _static_get_paths(app)
        assert "/status" in paths
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a.test") as http:
            for path in paths:
                answer = await http.get(path)
                _check(answer, path)
                _timed(answer, path)
            _timed(await http.get("/no/such/page"), "/no/such/page")
            assert (await http.get("/status")).headers["content-type"] == "text/html; charset=utf-8"


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_a_person_gets_a_spanish_page_and_a_client_a_problem_for_an_unknown_page(tmp_path: Path) -> None:
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    await load_fixture(settings)
    async with client(settings) as http:
        person = await http.get("/no-existe<script>", headers={"Accept": BROWSER})
        missing_commitment = await http.get("/plan/no-existe", headers={"Accept": BROWSER})
        machine = await http.get("/no-existe", headers={"Accept": "application/json"})
        default = await http.get("/no-existe")
    assert person.status_code == missing_commitment.status_code == 404
    assert person.headers["content-type"] == "text/html; charset=utf-8"
    assert "Página no encontrada" in person.text
    assert "<script>" not in person.text
    assert "default-src 'none'" in person.headers["content-security-policy"]
    assert "compromiso no encontrado" in missing_commitment.text
    for answer in (machine, default):
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_the_openapi_pages_work_offline_and_declare_their_security(tmp_path: Path) -> None:
    """Regression: /schema loaded its viewer from a CDN (a blank page on a closed network)."""
    settings = await make_node(tmp_path / "n", f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    async with client(settings) as http:
        node_page = await http.get("/schema")
        node_document = (await http.get("/schema/openapi.json")).json()
        script = await http.get("/schema-assets/swagger-ui-bundle.js")
    async with aggregator(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") as runtime:
        app = create_app(runtime.settings, runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a.test") as http:
            aggregator_page = await http.get("/schema")
            aggregator_document = (await http.get("/schema/openapi.json")).json()
            css = await http.get("/schema-assets/swagger-ui.css")
    for page in (node_page, aggregator_page):
        assert page.status_code == 200
        assert "/schema-assets/swagger-ui-bundle.js" in page.text
        assert "https://" not in page.text, "nothing is loaded from outside"
    assert script.status_code == css.status_code == 200
    assert len(script.content) > 100_000
    for document, secured in ((node_document, "/admin/api/organizations"), (aggregator_document, "/admin/api/nodes")):
        assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert document["paths"][secured]["get"]["security"] == [{"bearer": []}]


async def test_the_read_api_answers_304_when_nothing_changed(tmp_path: Any) -> None:
    """Every read of the API carries an ETag; If-None-Match with it costs a 304 and no body."""
    from agg_helpers import FakeNode, aggregator, fake_nodes  # noqa: PLC0415
    from ogp_federation.aggregator.app import create_app as create_aggregator  # noqa: PLC0415

    async with fake_nodes() as server, aggregator(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") as runtime:
        node = server.add(FakeNode("13122"))
        await runtime.registry.add_node("13122", server.base("13122"), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        app = create_aggregator(runtime.settings, runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            path = "/api/v1/communes/13122/records/commitments"
            first = await http.get(path, headers={"Accept-Encoding": "gzip"})
            etag = first.headers["etag"]
            again = await http.get(path, headers={"If-None-Match": etag})
            other = await http.get(path, headers={"If-None-Match": 'W/"something-else"'})
            listed = await http.get("/api/v1/communes")
            versions = await http.get("/api/v1/communes/13122/versions")
            node.publish(2)
            from agg_helpers import make_due  # noqa: PLC0415

            await make_due(runtime, "13122")
            await runtime.scheduler.tick()
            now = await http.get(path)
            current = await http.get(path, headers={"If-None-Match": now.headers["etag"]})
            changed = await http.get(
                "/api/v1/communes/13122/versions", headers={"If-None-Match": versions.headers["etag"]}
            )
            missing = await http.get("/api/v1/versions/999999", headers={"If-None-Match": "*"})
    assert etag.startswith('W/"')
    assert again.status_code == 304
    assert again.content == b""
    assert other.status_code == 200
    assert "etag" in listed.headers
    assert current.status_code == 304  # the answer's ETag as it is now
    assert changed.status_code == 200  # it did change the list of versions: a new ETag
    assert changed.headers["etag"] != versions.headers["etag"]
    assert missing.status_code == 404  # errors are not cached
