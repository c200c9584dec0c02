"""`node check`: the conformance checks, against a conforming node, a static export, and nodes broken one way each."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from node_helpers import load_fixture, make_node
from ogp_federation.conformance import FolderSource, HttpSource, Report, check_node
from ogp_federation.conformance import checks as conformance_checks
from ogp_federation.feed import signing
from ogp_federation.feed.protocol import SIGNATURE_HEADER
from ogp_federation.node.app import create_app
from ogp_federation.node.keyring import KeyRing
from ogp_federation.node.runtime import NodeRuntime
from ogp_federation.node.settings import NodeSettings
from ogp_federation.node.static import export_static

BASE = "http://127.0.0.1:8080"
AN_HOUR_AHEAD = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
Breaker = Callable[[httpx.Request, httpx.Response, KeyRing], httpx.Response | None]


class Broken(httpx.AsyncBaseTransport):
    """The node app, with one thing broken by ``breaker`` (which may answer instead, or change the answer)."""

    def __init__(self, app: Any, keyring: KeyRing, breaker: Breaker | None = None, *, plain: bool = False) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.keyring = keyring
        self.breaker = breaker
        self.plain = plain

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.plain and "accept-encoding" in request.headers:
            del request.headers["accept-encoding"]
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if self.breaker is None:
            return response
        changed = self.breaker(request, response, self.keyring)
        return changed if changed is not None else response


def _answer(response: httpx.Response, body: bytes, **headers: str) -> httpx.Response:
    """``response`` with another body (compressed as the original was) and ``headers`` replaced."""
    replaced = {name.lower() for name in headers} | {"content-length"}
    kept = {k: v for k, v in response.headers.items() if k.lower() not in replaced}
    if kept.get("content-encoding") == "gzip":
        body = gzip.compress(body)
    return httpx.Response(response.status_code, headers={**kept, **headers}, content=body)


def _feed_body(response: httpx.Response) -> bytes:
    raw = response.content
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _on(path: str, make: Callable[[httpx.Request, httpx.Response, KeyRing], httpx.Response]) -> Breaker:
    def breaker(request: httpx.Request, response: httpx.Response, keys: KeyRing) -> httpx.Response | None:
        return make(request, response, keys) if request.url.path == path else None

    return breaker


def _resigned_feed(change: Callable[[dict[str, Any]], None]) -> Breaker:
    def make(request: httpx.Request, response: httpx.Response, keys: KeyRing) -> httpx.Response:
        if response.status_code != 200:
            return response
        document = json.loads(_feed_body(response))
        change(document)
        body = json.dumps(document).encode()
        return _answer(response, body, **{SIGNATURE_HEADER: signing.sign(body, keys.current)})

    return _on("/feed/v1/plan.json", make)


def _drop_first_change(request: httpx.Request, response: httpx.Response, keys: KeyRing) -> httpx.Response | None:
    if request.url.path != "/feed/v1/changes" or request.url.params.get("since") != "0":
        return None
    page = json.loads(response.content)
    page["changes"] = page["changes"][1:]
    body = json.dumps(page).encode()
    return _answer(response, body, **{SIGNATURE_HEADER: signing.sign(body, keys.current)})


def _status(path: str, status: int) -> Breaker:
    return _on(path, lambda request, response, keys: httpx.Response(status, content=b"{}"))


def _header(path: str, name: str, value: str | None) -> Breaker:
    def make(request: httpx.Request, response: httpx.Response, keys: KeyRing) -> httpx.Response:
        if value is None:
            headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in {name, "content-length"}]
            encoded = gzip.compress(response.content) if response.headers.get("content-encoding") == "gzip" else None
            return httpx.Response(response.status_code, headers=headers, content=encoded or response.content)
        return _answer(response, response.content, **{name: value})

    return _on(path, make)


def _unknown_cut(document: dict[str, Any]) -> None:
    document["publisher"]["cut"] = "99999"


def _current_page_missing(request: httpx.Request, response: httpx.Response, keys: KeyRing) -> httpx.Response | None:
    since = request.url.params.get("since")
    if request.url.path == "/feed/v1/changes" and since not in (None, "0"):
        return httpx.Response(404, content=b"{}")
    return None


def _bad_signature(request: httpx.Request, response: httpx.Response, keys: KeyRing) -> httpx.Response | None:
    if request.url.path != "/feed/v1/plan.json":
        return None
    good = response.headers[SIGNATURE_HEADER]
    bad = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    return _answer(response, response.content, **{SIGNATURE_HEADER: bad})


@pytest.fixture(scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> NodeSettings:
    folder = tmp_path_factory.mktemp("checked")
    settings = await make_node(folder, f"sqlite+aiosqlite:///{folder / 'n.db'}", public_url=BASE)
    await load_fixture(settings)
    return settings


@asynccontextmanager
async def _source(
    settings: NodeSettings, breaker: Breaker | None = None, *, plain: bool = False
) -> AsyncIterator[HttpSource]:
    """An HTTP source reading the node app (its lifespan run), broken by ``breaker``."""
    app = create_app(settings)
    keyring = KeyRing.load(settings.data_path / "keys")
    source = HttpSource(transport=Broken(app, keyring, breaker, plain=plain))
    async with app.lifespan():
        try:
            yield source
        finally:
            await source.close()


async def _run(settings: NodeSettings, breaker: Breaker | None = None, *, plain: bool = False) -> Report:
    async with _source(settings, breaker, plain=plain) as source:
        return await check_node(source, BASE, cut="13122")


def _failed(report: Report) -> set[str]:
    return {check.id for check in report.checks if check.status == "fail"}


async def test_a_conforming_node_passes_every_check(node: NodeSettings) -> None:
    report = await _run(node)
    statuses = {check.id: check.status for check in report.checks}
    assert report.level == "full", [c for c in report.checks if c.status != "pass"]
    assert statuses["tls"] == "skip"  # a loopback address needs no certificate
    assert statuses["clock"] == "skip"  # the app in process sends no Date (a server does: see the CLI test)
    assert all(status == "pass" for check_id, status in statuses.items() if check_id not in {"tls", "clock"})
    assert report.cut == "13122"
    assert report.sequence is not None


@pytest.mark.parametrize(
    ("broken", "breaker", "level"),
    [
        ("descriptor", _status("/.well-known/ogp-node", 404), "none"),
        ("feed.fetch", _status("/feed/v1/plan.json", 503), "none"),
        ("feed.valid", _resigned_feed(_unknown_cut), "none"),
        ("keys.jwks", _status("/feed/v1/jwks.json", 404), "none"),
        ("feed.signature", _bad_signature, "none"),
        ("keys.endorsement", _status("/feed/v1/jwks.json.sig", 404), "basic"),
        (
            "clock",
            _header("/feed/v1/plan.json", "date", format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)),
            "basic",
        ),
        ("http.etag", _header("/feed/v1/plan.json", "etag", None), "basic"),
        ("changes.current", _current_page_missing, "basic"),
        ("changes.replay", _drop_first_change, "basic"),
    ],
)
async def test_each_check_fails_on_its_own(node: NodeSettings, broken: str, breaker: Breaker, level: str) -> None:
    report = await _run(node, breaker)
    assert _failed(report) == {broken}, [(c.id, c.detail) for c in report.checks if c.status == "fail"]
    assert report.level == level
    failed = next(check for check in report.checks if check.id == broken)
    assert failed.fix  # how to fix it, in Spanish
    assert failed.fix_en  # and in English
    assert failed.detail


async def test_compression_time_size_and_tls_fail_on_their_own(
    node: NodeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uncompressed = await _run(node, plain=True)
    monkeypatch.setattr(conformance_checks, "SLOW_SECONDS", 0.0)
    slow = await _run(node)
    monkeypatch.undo()
    monkeypatch.setattr(conformance_checks, "MAX_FEED_BYTES", 1000)
    large = await _run(node)
    monkeypatch.undo()
    public = await make_node(
        tmp_path / "p", f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", public_url="http://nodo.example.cl"
    )
    await load_fixture(public)
    async with _source(public) as source:
        unencrypted = await check_node(source, "http://nodo.example.cl")
    assert _failed(uncompressed) == {"http.gzip"}
    assert _failed(slow) == {"time"}
    assert _failed(large) == {"size"}
    assert _failed(unencrypted) == {"tls"}
    assert unencrypted.level == "basic"


async def test_the_wrong_commune_or_nothing_at_all_is_not_conforming(node: NodeSettings) -> None:
    nowhere = HttpSource()
    async with _source(node) as source:
        other = await check_node(source, BASE, cut="13119")
    try:
        down = await check_node(nowhere, "http://127.0.0.1:9")
    finally:
        await nowhere.close()
    assert _failed(other) == {"descriptor"}
    assert "13122" in next(c.detail for c in other.checks if c.id == "descriptor")
    assert down.level == "none"
    assert "connect" in next(c.detail for c in down.checks if c.id == "descriptor")
    assert {c.status for c in down.checks if c.id != "descriptor"} == {"skip"}


async def test_a_static_export_conforms(node: NodeSettings, tmp_path: Path) -> None:
    runtime = NodeRuntime(node)
    try:
        await export_static(runtime, tmp_path / "site", base_url="https://www.comuna.cl/ga")
    finally:
        await runtime.db.close()
    report = await check_node(FolderSource(tmp_path / "site", "https://www.comuna.cl/ga"), "https://www.comuna.cl/ga")
    statuses = {check.id: check.status for check in report.checks}
    assert report.level == "full", [c for c in report.checks if c.status == "fail"]
    assert statuses["changes.replay"] == "pass"
    assert {statuses[c] for c in ("http.etag", "http.gzip", "time", "tls")} == {"skip"}
    escaped = await check_node(
        FolderSource(tmp_path / "site", "https://www.comuna.cl/ga"), "https://www.comuna.cl/ga/../.."
    )
    assert escaped.level == "none"  # a path out of the folder is not served


def test_a_report_is_plain_json() -> None:
    report = Report(url="u", checked_at=datetime.now(UTC), level="none", checks=[])
    assert msgspec.json.decode(msgspec.json.encode(report))["level"] == "none"


async def test_the_command_line_checks_a_served_node_and_a_static_folder(tmp_path: Path) -> None:
    from test_node_federation import CLI, cli, free_port, process  # noqa: PLC0415

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = await make_node(tmp_path / "n", f"sqlite+aiosqlite:///{tmp_path / 'n.db'}", public_url=base)
    await load_fixture(settings)
    config = str(tmp_path / "n" / "node.toml")
    with process(CLI, "node", "serve", "--config", config, "--port", str(port), ready_url=f"{base}/health"):
        served = cli("node", "check", base, "--cut", "13122", "--format", "json", check=False)
        text = cli("node", "check", base, check=False)
    cli("node", "export-static", "--config", config, "--out", str(tmp_path / "site"))
    static = cli("node", "check", str(tmp_path / "site"), check=False)
    down = cli("node", "check", "http://127.0.0.1:9", "--format", "json", check=False)
    neither = cli("node", "check", str(tmp_path / "nothing-here"), check=False)
    report = json.loads(served.stdout)
    statuses = {check["id"]: check["status"] for check in report["checks"]}
    assert served.returncode == 0, served.stdout
    assert report["level"] == "full"
    assert statuses["clock"] == "pass"  # a real server sends Date
    assert statuses["tls"] == "skip"
    assert "nivel de conformidad: completo" in text.stdout
    assert "✔ feed.signature" in text.stdout
    assert static.returncode == 0, static.stdout
    assert "nivel de conformidad: completo" in static.stdout
    assert down.returncode == 1
    assert json.loads(down.stdout)["level"] == "none"
    assert neither.returncode == 2


async def test_the_aggregator_checks_a_node_when_it_registers_it(database_url: str) -> None:
    """The same checks, through the aggregator's guarded fetcher; the report is stored and shown to operators."""
    from litestar.testing import AsyncTestClient  # noqa: PLC0415

    from agg_helpers import FakeNode, aggregator, fake_nodes  # noqa: PLC0415
    from agg_helpers import test_settings as agg_settings  # noqa: PLC0415
    from ogp_federation.aggregator.app import create_app as create_aggregator  # noqa: PLC0415
    from ogp_federation.aggregator.registry import NodeView  # noqa: PLC0415

    async with fake_nodes() as server, aggregator(database_url, check_on_registration=True) as runtime:
        server.add(FakeNode("13122"))
        broken = server.add(FakeNode("13119"))
        broken.signature = signing.sign(b"other bytes", broken.key)  # a signature of something else
        registered = await runtime.registry.add_node("13122", server.base("13122"), trust_fetched_keys=True)
        unsigned = await runtime.registry.add_node("13119", server.base("13119"), trust_fetched_keys=True)
        stored = await runtime.registry.conformance("13119")
    view, failing = NodeView.of(registered), NodeView.of(unsigned)
    assert view.conformance_level == "basic"  # plain http on loopback is fine; the fake node sends no gzip
    assert "feed.signature" not in view.conformance_failed
    assert failing.conformance_level == "none"
    assert "feed.signature" in failing.conformance_failed  # registered all the same, and the operator is told
    assert stored["checks"][0]["id"] == "descriptor"
    if database_url.startswith("sqlite"):
        token = "t" * 32
        settings = agg_settings(database_url, admin_token_hashes=[hashlib.sha256(token.encode()).hexdigest()])
        auth = {"Authorization": f"Bearer {token}"}
        async with AsyncTestClient(app=create_aggregator(settings)) as http:
            shown = await http.get("/admin/api/nodes/13119/conformance", headers=auth)
            listed = await http.get("/admin/api/nodes", headers=auth)
            refused = await http.get("/admin/api/nodes/13119/conformance")
        assert shown.status_code == 200, shown.text
        assert shown.json()["level"] == "none"
        assert {n["cut"]: n["conformance_level"] for n in listed.json()} == {"13119": "none", "13122": "basic"}
        assert refused.status_code == 401
