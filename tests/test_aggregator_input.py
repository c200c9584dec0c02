"""Bad input to the aggregator — CLI, admin API, read API, settings — gets a precise error and loses nothing.

Registrations are checked before the node is contacted; a webhook must pass the SSRF guard like any node
URL; a database that is down or not migrated is reported as such (CLI exit 2, HTTP 503), never as a
traceback; anything unexpected is a logged 500 problem that leaks nothing.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog.testing
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from litestar import Litestar, get
from sqlalchemy import select

from agg_helpers import FakeNode, aggregator, fake_nodes
from agg_helpers import test_settings as settings_for
from ogp_federation.aggregator.app import create_app
from ogp_federation.aggregator.common import load_settings
from ogp_federation.aggregator.harvest import StateChange
from ogp_federation.aggregator.net import BlockedAddressError, NetworkGuard
from ogp_federation.aggregator.registry import Commune, Node
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.aggregator.setup import MIGRATIONS, prepare_database
from ogp_federation.cli import cli
from ogp_federation.core.db import Database, database_failure
from ogp_federation.core.errors import ConfigurationError, InvalidInputError, NotFoundError, OGPError
from ogp_federation.core.http import PROBLEM_JSON, exception_handlers
from ogp_federation.core.migrations import alembic_config, upgrade
from ogp_federation.feed import signing
from test_node_federation import CLI, free_port

CUT = "13122"
TOKEN = "ogpa_test-token"
TOKEN_HASH = hashlib.sha256(TOKEN.encode()).hexdigest()
# A loopback port nothing listens on (port 1, tcpmux, is never served here): connections are refused at once.
UNREACHABLE_PG = "postgresql+asyncpg://ogp@127.0.0.1:1/ogp"


class _Recorder(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()


@pytest.fixture
def static_node(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A node published as static files on 127.0.0.1 (its base URL, its folder, the paths requested)."""
    site = tmp_path / "site"
    (site / ".well-known").mkdir(parents=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Recorder, directory=str(site)))
    server.paths = []  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{server.server_address[1]}"
    descriptor = {
        "cut": CUT,
        "name": "Peñalolén",
        "feed_url": f"{base}/plan.json",
        "signature_url": f"{base}/plan.json.sig",
        "jwks_url": f"{base}/jwks.json",
    }
    (site / ".well-known" / "ogp-node").write_text(json.dumps(descriptor), encoding="utf-8")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, site, server.paths  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def agg(env: dict[str, str], *args: str) -> tuple[int, str, str, BaseException | None]:
    """Run ``ogp-federation aggregator …``; the exception is None or the SystemExit of a clean exit."""
    result = CliRunner().invoke(cli, ["aggregator", *args], env=env)
    unexpected = None if isinstance(result.exception, SystemExit) else result.exception
    return result.exit_code, result.stdout, result.stderr, unexpected


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Settings of a migrated SQLite aggregator that may reach loopback nodes."""
    env = {
        "OGP_AGG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}",
        "OGP_AGG_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    code, _, err, _ = agg(env, "db", "upgrade")
    assert code == 0, err
    return env


def _nodes(env: dict[str, str]) -> list[tuple[Any, ...]]:
    path = env["OGP_AGG_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT cut, base_url FROM nodes").fetchall()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("abc", "{base}"), "$.cut"),
        (("99999", "{base}"), "99999"),
        ((CUT, "ftp://example.org"), "$.url"),
        ((CUT, "{base}", "--contact-email", "not-an-address"), "$.contact_email"),
        ((CUT, "{base}", "--webhook", "http://169.254.169.254/latest/meta-data"), "$.webhook_url"),
    ],
)
def test_cli_node_add_checks_its_arguments_before_contacting_the_node(
    cli_env: dict[str, str], static_node: tuple[str, Path, list[str]], args: tuple[str, ...], expected: str
) -> None:
    base, _, requested = static_node
    code, _, err, unexpected = agg(cli_env, "node", "add", *(a.format(base=base) for a in args))
    assert unexpected is None
    assert code == 2
    assert expected in err
    assert requested == []
    assert _nodes(cli_env) == []


@pytest.mark.parametrize(
    "case",
    [
        ("not json", None, "--jwks"),
        ("[1, 2]", None, "--jwks"),
        (None, "not json", "/jwks.json: JSON is malformed"),
        (None, '{"keys": "x"}', "JWKS"),
        (None, '{"keys": []}', "no Ed25519 key"),
    ],
)
def test_cli_node_add_refuses_unreadable_keys_and_registers_nothing(
    cli_env: dict[str, str],
    static_node: tuple[str, Path, list[str]],
    tmp_path: Path,
    case: tuple[str | None, str | None, str],
) -> None:
    jwks_file, served_jwks, expected = case
    base, site, _ = static_node
    (site / "jwks.json").write_text(served_jwks or "{}", encoding="utf-8")
    extra: list[str] = []
    if jwks_file is not None:
        (tmp_path / "keys.json").write_text(jwks_file, encoding="utf-8")
        extra = ["--jwks", str(tmp_path / "keys.json")]
    code, _, err, unexpected = agg(cli_env, "node", "add", CUT, base, *extra)
    assert unexpected is None
    assert code == 2
    assert expected in err
    assert _nodes(cli_env) == []


def test_cli_node_add_refuses_a_descriptor_with_an_unusable_change_feed_template(
    cli_env: dict[str, str], static_node: tuple[str, Path, list[str]]
) -> None:
    base, site, _ = static_node
    descriptor_path = site / ".well-known" / "ogp-node"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    descriptor["changes_url_template"] = base + "/changes/" + "x" * 3000 + "{sequence}"
    descriptor_path.write_text(json.dumps(descriptor), encoding="utf-8")
    code, _, err, unexpected = agg(cli_env, "node", "add", CUT, base)
    assert (code, unexpected) == (2, None)
    assert "$.changes_url_template" in err
    assert _nodes(cli_env) == []


def test_cli_commune_set_refuses_blank_groups_and_keeps_the_stored_ones(cli_env: dict[str, str]) -> None:
    kept = agg(cli_env, "commune", "set", CUT, "--group", "ogp-local", "--population", "266798")
    blank = agg(cli_env, "commune", "set", CUT, "--group", "ogp-local", "--group", "  ")
    path = cli_env["OGP_AGG_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as connection:
        stored = connection.execute("SELECT population, groups FROM communes WHERE cut = ?", (CUT,)).fetchone()
    assert kept[0] == 0
    assert (blank[0], blank[3]) == (2, None)
    assert "$.groups[1]" in blank[2]
    assert stored == (266798, '["ogp-local"]')


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OGP_AGG_ALLOWED_NETWORKS": '["127.0.0.0/8"]'}, "allowed_networks"),
        ({"OGP_AGG_ADMIN_TOKEN_HASHES": "not-a-hash"}, "$.admin_token_hashes[0]"),
        ({"OGP_AGG_DATABASE_URL": "not a url"}, "database_url is not a database URL"),
        ({"OGP_AGG_DATABASE_URL": "mysql://root@127.0.0.1/test"}, "database_url uses 'mysql'"),
        ({"OGP_AGG_CONCURRENCY": "many"}, "$.concurrency"),
    ],
)
def test_cli_reports_bad_settings_by_name(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    settings = {"OGP_AGG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"} | env
    code, _, err, unexpected = agg(settings, "node", "list")
    assert unexpected is None
    assert code == 2
    assert "error [configuration]" in err
    assert expected in err


def test_cli_says_when_the_database_is_not_migrated_or_not_reachable(tmp_path: Path) -> None:
    fresh = agg({"OGP_AGG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"}, "node", "list")
    down = agg({"OGP_AGG_DATABASE_URL": UNREACHABLE_PG}, "node", "list")
    assert (fresh[0], fresh[3]) == (2, None)
    assert "error [database.not_initialised]" in fresh[2]
    assert "db upgrade" in fresh[2]
    assert (down[0], down[3]) == (2, None)
    assert "error [database.unavailable]" in down[2]


def test_cli_node_list_says_when_no_node_is_registered(cli_env: dict[str, str]) -> None:
    code, out, _, _ = agg(cli_env, "node", "list")
    assert code == 0
    assert "ningún nodo registrado" in out


def test_cli_says_in_spanish_first_why_a_node_could_not_be_read(
    cli_env: dict[str, str], static_node: tuple[str, Path, list[str]]
) -> None:
    base, site, _ = static_node
    (site / ".well-known" / "ogp-node").unlink()  # the node answers 404 for its descriptor
    code, _, err, unexpected = agg(cli_env, "node", "add", CUT, base)
    assert (code, unexpected) == (2, None)
    assert "error [http.404]: el servidor no tiene lo pedido en esa dirección (HTTP 404)" in err
    code, _, english, _ = agg({**cli_env, "OGP_LANG": "en"}, "node", "add", CUT, base)
    assert code == 2
    assert "error [http.404]: HTTP 404" in english  # in English when the user's language is English
    assert "dirección" not in english


def test_cli_harvest_and_node_list_explain_a_failure_in_spanish(
    cli_env: dict[str, str], static_node: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, _, _ = static_node
    (tmp_path / "keys.json").write_text(json.dumps(signing.jwks_of([signing.generate_key()])), encoding="utf-8")
    added = agg(cli_env, "node", "add", CUT, base, "--jwks", str(tmp_path / "keys.json"))
    assert added[0] == 0, added[2]
    harvested = agg(cli_env, "harvest")  # the static site has no plan.json: 404
    listed = agg(cli_env, "node", "list")
    explained = "http.404: el servidor no tiene lo pedido en esa dirección (HTTP 404)"
    assert harvested[0] == 0
    assert explained in harvested[1]
    assert explained in listed[1]


def test_settings_list_variables_tolerate_spaces() -> None:
    settings = load_settings(
        None, {"OGP_AGG_DATABASE_URL": "sqlite+aiosqlite:///x.db", "OGP_AGG_ALLOWED_NETWORKS": " 10.0.0.0/8, ::1/128 ,"}
    )
    assert settings.allowed_networks == ["10.0.0.0/8", "::1/128"]
    with pytest.raises(ConfigurationError):
        load_settings(
            None, {"OGP_AGG_DATABASE_URL": "sqlite+aiosqlite:///x.db", "OGP_AGG_ALLOWED_NETWORKS": "10.0.0.0/33"}
        )


def test_a_settings_file_without_its_section_is_named(tmp_path: Path) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text('database_url = "sqlite+aiosqlite:///x.db"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, {})
    assert "[aggregator]" in caught.value.message_en
    assert caught.value.detail == "found: database_url"


async def test_registration_is_checked_before_the_node_is_contacted(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        server.add(FakeNode(CUT))
        good = server.base(CUT)
        attempts: list[tuple[dict[str, Any], type[OGPError], str]] = [
            ({"cut": "1312", "base_url": good}, InvalidInputError, "$.cut"),
            ({"cut": "99999", "base_url": good}, NotFoundError, ""),
            ({"cut": CUT, "base_url": "javascript:alert(1)"}, InvalidInputError, "$.url"),
            ({"cut": CUT, "base_url": good, "interval": 5}, InvalidInputError, "$.interval"),
            ({"cut": CUT, "base_url": good, "interval": 10**12}, InvalidInputError, "$.interval"),
            ({"cut": CUT, "base_url": good, "contact_email": "a@b"}, InvalidInputError, "$.contact_email"),
            ({"cut": CUT, "base_url": good, "webhook_url": "http://10.1.2.3/hook"}, InvalidInputError, "$.webhook_url"),
            ({"cut": CUT, "base_url": good, "webhook_url": "http://[::1]:9/hook"}, InvalidInputError, "$.webhook_url"),
        ]
        failures = []
        for given, kind, path in attempts:
            with pytest.raises(kind) as caught:
                await runtime.registry.add_node(given.pop("cut"), given.pop("base_url"), **given)
            failures.append((caught.value, path))
        registered = await runtime.registry.nodes()
    assert registered == []
    assert server.requests == []
    for error, path in failures:
        if path:
            assert isinstance(error, InvalidInputError)
            assert error.errors[0]["path"] == path
    assert failures[6][0].code == "ssrf.blocked"


async def test_two_registrations_of_one_commune_at_once_leave_one_node(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        server.add(FakeNode(CUT))
        registered = await asyncio.gather(
            *(runtime.registry.add_node(CUT, server.base(CUT), interval=60 * (i + 1)) for i in range(4)),
            return_exceptions=True,
        )
        nodes = await runtime.registry.nodes()
    assert [r for r in registered if isinstance(r, BaseException)] == []
    assert [n.cut for n in nodes] == [CUT]
    assert nodes[0].poll_interval in (60, 120, 180, 240)


async def test_attributes_out_of_range_change_nothing(database_url: str) -> None:
    async with aggregator(database_url) as runtime:
        await runtime.registry.set_attributes(CUT, population=266798, subdere_group=1, groups=["ogp-local"])
        refused = []
        for given in ({"population": -1}, {"population": 10**12}, {"subdere_group": 6}, {"groups": ["a", ""]}):
            with pytest.raises(InvalidInputError) as caught:
                await runtime.registry.set_attributes(CUT, **given)
            refused.append(caught.value.errors[0]["path"])
        async with runtime.db.sessions() as session:
            commune = await session.get(Commune, CUT)
    assert refused == ["$.population", "$.population", "$.subdere_group", "$.groups[1]"]
    assert commune is not None
    assert (commune.population, commune.subdere_group, commune.groups) == (266798, 1, ["ogp-local"])


def _admin(runtime: AggregatorRuntime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime.settings, runtime=runtime))
    return httpx.AsyncClient(
        transport=transport, base_url="http://aggregator.test", headers={"Authorization": f"Bearer {TOKEN}"}
    )


async def test_admin_api_refuses_bad_bodies_and_keeps_what_is_stored(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url, admin_token_hashes=[TOKEN_HASH]) as runtime:
        server.add(FakeNode(CUT))
        async with _admin(runtime) as http:
            ok = await http.patch(f"/admin/api/communes/{CUT}", json={"population": 1000, "groups": ["norte"]})
            negative = await http.patch(f"/admin/api/communes/{CUT}", json={"population": -1})
            huge = await http.patch(f"/admin/api/communes/{CUT}", json={"population": 2**40})
            blank = await http.patch(f"/admin/api/communes/{CUT}", json={"groups": [""]})
            not_json = await http.patch(
                f"/admin/api/communes/{CUT}", content=b"{nope", headers={"Content-Type": "application/json"}
            )
            interval = await http.post("/admin/api/nodes", json={"cut": CUT, "url": server.base(CUT), "interval": -5})
            webhook = await http.post(
                "/admin/api/nodes", json={"cut": CUT, "url": server.base(CUT), "webhook_url": "http://192.168.0.1/"}
            )
            big_id = await http.post(f"/admin/api/quarantine/{2**70}/approve")
            changes = await http.get(f"/api/v1/versions/{2**70}/changes")
        async with runtime.db.sessions() as session:
            commune = await session.get(Commune, CUT)
            nodes = list(await session.scalars(select(Node)))
    assert ok.status_code == 200
    for answer in (negative, huge, blank, not_json, interval, big_id, changes):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        assert answer.json()["code"] == "bad_request"
    assert [e["key"] for e in interval.json()["errors"]] == ["interval"]
    assert webhook.status_code == 422
    assert webhook.json()["errors"][0]["path"] == "$.webhook_url"
    assert commune is not None
    assert (commune.population, commune.groups) == (1000, ["norte"])
    assert nodes == []
    assert server.requests == []


async def test_read_api_refuses_malformed_cuts_and_moments_without_an_offset(database_url: str) -> None:
    async with aggregator(database_url) as runtime, _admin(runtime) as http:
        not_a_cut = await http.get("/api/v1/communes/" + "x" * 5000 + "/feed")
        nul = await http.get("/api/v1/communes/%00/records/commitments")
        naive = await http.get(f"/api/v1/communes/{CUT}/records/commitments?as_of=2026-01-01T00:00:00")
        naive_feed = await http.get(f"/api/v1/communes/{CUT}/feed?as_of=2026-01-01T00:00:00")
        aware = await http.get(f"/api/v1/communes/{CUT}/records/commitments?as_of=2026-01-01T00:00:00-03:00")
    assert (not_a_cut.status_code, nul.status_code) == (400, 400)
    assert len(not_a_cut.content) < 1000  # the 5,000-character path is not echoed whole
    for answer in (naive, naive_feed):
        assert answer.status_code == 422
        assert answer.json()["errors"] == [{"path": "as_of", "message": "no UTC offset"}]
    assert (aware.status_code, aware.json()) == (200, [])
    for answer in (aware, naive, not_a_cut):  # nothing served is ever sniffed into HTML
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_servers_refuse_to_start_on_a_database_that_is_not_migrated_or_outdated(tmp_path: Path) -> None:
    empty = {"OGP_AGG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}
    old_url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"

    async def migrate_to_the_first_revision() -> None:  # as a database left behind by a software update
        db = Database(old_url)
        try:
            await upgrade(db, MIGRATIONS, "0001")
        finally:
            await db.close()

    asyncio.run(migrate_to_the_first_revision())
    outdated = {"OGP_AGG_DATABASE_URL": old_url}

    def serve(env: dict[str, str]) -> tuple[int, str, str, None]:
        # A real process with a deadline: were the check ever lost, the test fails instead of serving for ever.
        command = [CLI, "aggregator", "serve", "--port", str(free_port())]
        environment = {**os.environ, **env}
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)
        return done.returncode, done.stdout, done.stderr, None

    answers = {
        "serve on empty": serve(empty),
        "work on empty": agg(empty, "work", "--seconds", "1"),
        "serve on outdated": serve(outdated),
        "work on outdated": agg(outdated, "work", "--seconds", "1"),
    }
    for name, (code, _, err, unexpected) in answers.items():
        assert (code, unexpected) == (2, None), name
        expected = "database.not_initialised" if "empty" in name else "database.outdated"
        assert f"error [{expected}]" in err, name
        assert "db upgrade" in err, name
        assert "Traceback" not in err, name
    (head,) = ScriptDirectory.from_config(alembic_config(MIGRATIONS)).get_heads()
    assert f"database at 0001; this version needs {head}" in answers["serve on outdated"][2]


async def test_ready_is_503_until_the_database_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"
    runtime = AggregatorRuntime(settings_for(url))
    try:
        async with _admin(runtime) as http:
            before = await http.get("/ready")
            await prepare_database(url)
            after = await http.get("/ready")
    finally:
        await runtime.stop()
    assert (before.status_code, before.json()["code"]) == (503, "database.not_initialised")
    assert (after.status_code, after.json()) == (200, {"status": "ready"})


async def test_a_database_that_is_down_is_a_503_problem(tmp_path: Path) -> None:
    runtime = AggregatorRuntime(settings_for(UNREACHABLE_PG))
    try:
        async with _admin(runtime) as http:
            answer = await http.get("/api/v1/communes")
            ready = await http.get("/ready")
    finally:
        await runtime.stop()
    assert (ready.status_code, ready.json()["code"]) == (503, "database.unavailable")
    assert "127.0.0.1" not in ready.text
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert answer.headers["retry-after"] == "30"
    assert answer.json()["code"] == "database.unavailable"
    assert "127.0.0.1" not in answer.text  # where the database lives is the operator's business


async def test_a_scheduled_tick_outlives_a_database_that_is_away() -> None:
    runtime = AggregatorRuntime(settings_for(UNREACHABLE_PG))
    try:
        with structlog.testing.capture_logs() as logs:
            first = await runtime.scheduler.safe_tick()
            second = await runtime.scheduler.safe_tick()  # and the next one runs too
    finally:
        await runtime.stop()
    assert (first, second) == (None, None)
    # one line per outage, not one per tick (a tick runs every second)
    assert [(e["event"], e["code"]) for e in logs] == [("tick.database_unavailable", "database.unavailable")]


async def test_an_unexpected_error_is_a_logged_500_problem_that_leaks_nothing() -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    kept = Keep()
    logger = logging.getLogger("ogp_federation.core.http")
    app = Litestar([boom], exception_handlers=exception_handlers)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        logger.addHandler(kept)  # after the app: Litestar's logging setup replaces the root handlers
        try:
            answer = await http.get("/boom")
        finally:
            logger.removeHandler(kept)
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert answer.json()["code"] == "internal"
    assert "secret" not in answer.text
    assert any(r.exc_info and "secret internal detail" in str(r.exc_info[1]) for r in kept.records)


async def test_a_webhook_is_posted_through_the_ssrf_guard(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    def alert(webhook_url: str) -> StateChange:
        return StateChange(CUT, "Peñalolén", "ok", "failing", "http.500", "HTTP 500", None, webhook_url)

    async with fake_nodes() as server, aggregator(database_url) as runtime:
        blocked, delivered = alert("http://10.9.8.7/hook"), alert(f"http://127.0.0.1:{server.port}/hooks/x")
        with caplog.at_level(logging.WARNING, logger="ogp_federation.aggregator.status.alerts"):
            await runtime.alerts.send(blocked)
            await runtime.alerts.send(delivered)
    assert [path for path, _ in server.hooks] == ["/hooks/x"]
    assert server.hooks[0][1]["state"] == "failing"
    assert any("ssrf.blocked" in r.getMessage() for r in caplog.records)


def test_only_database_failures_are_reported_as_such() -> None:
    refused = database_failure(ConnectionRefusedError(111, "Connect call failed"))
    assert refused is not None
    assert refused.code == "database.unavailable"
    assert database_failure(FileNotFoundError(2, "No such file or directory", "plan.xlsx")) is None
    assert database_failure(ValueError("a bug")) is None


def test_cli_harvest_now_forces_a_poll_of_every_node_or_the_ones_named(
    cli_env: dict[str, str], static_node: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, _, _ = static_node
    (tmp_path / "keys.json").write_text(json.dumps(signing.jwks_of([signing.generate_key()])), encoding="utf-8")
    assert agg(cli_env, "node", "add", CUT, base, "--jwks", str(tmp_path / "keys.json"))[0] == 0
    first = agg(cli_env, "harvest")
    nothing_due = agg(cli_env, "harvest")
    forced = agg(cli_env, "harvest", "--now")
    named = agg(cli_env, "harvest", "--now", "--cut", CUT)
    unknown = agg(cli_env, "harvest", "--now", "--cut", "05101")
    unknown_due = agg(cli_env, "harvest", "--cut", "05101")

    def polled(output: str) -> list[str]:
        return [line for line in output.splitlines() if line.startswith(CUT)]

    assert len(polled(first[1])) == 1
    assert polled(nothing_due[1]) == []  # failed a moment ago: its retry is not due yet
    assert "0 nodos cosechados" in nothing_due[1]
    assert "1 nodo cosechado, 1 con problemas" in forced[1]
    assert len(polled(forced[1])) == 1
    assert len(polled(named[1])) == 1
    for result in (unknown, unknown_due):
        assert result[0] == 2
        assert result[3] is None
        assert "05101" in result[2]


def test_registering_again_keeps_confirmed_keys_and_says_when_they_changed(
    cli_env: dict[str, str], static_node: tuple[str, Path, list[str]]
) -> None:
    """Regression: `node add` again reset confirmed keys to unconfirmed without a word."""
    base, site, _ = static_node
    (site / "jwks.json").write_text(json.dumps(signing.jwks_of([signing.generate_key()])), encoding="utf-8")
    assert agg(cli_env, "node", "add", CUT, base, "--trust-fetched-keys")[0] == 0
    same_keys = agg(cli_env, "node", "add", CUT, base)
    (site / "jwks.json").write_text(json.dumps(signing.jwks_of([signing.generate_key()])), encoding="utf-8")
    new_keys = agg(cli_env, "node", "add", CUT, base)
    assert same_keys[0] == 0
    assert "confirmadas" in same_keys[1]
    assert "atención" not in same_keys[2]
    assert new_keys[0] == 0
    assert "por confirmar" in new_keys[1]
    assert "ya no están confirmadas" in new_keys[2]
    assert f"aggregator node confirm {CUT}" in new_keys[2]


def test_a_missing_or_bad_setting_names_its_environment_variable() -> None:
    with pytest.raises(ConfigurationError) as missing:
        load_settings(None, {})
    with pytest.raises(ConfigurationError) as bad:
        load_settings(None, {"OGP_AGG_DATABASE_URL": "sqlite+aiosqlite:///x.db", "OGP_AGG_CONCURRENCY": "muchos"})
    assert "OGP_AGG_DATABASE_URL" in missing.value.message
    assert "OGP_AGG_CONCURRENCY" in bad.value.message


async def test_the_ssrf_refusal_says_which_setting_allows_a_network() -> None:
    with pytest.raises(BlockedAddressError) as caught:
        await NetworkGuard().check("http://127.0.0.1:8080/")
    assert "allowed_networks" in caught.value.message
    assert "OGP_AGG_ALLOWED_NETWORKS" in caught.value.message_en


def test_cli_node_import_registers_every_row_and_reports_each(
    cli_env: dict[str, str], static_node: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, site, _ = static_node
    (site / "jwks.json").write_text(json.dumps(signing.jwks_of([signing.generate_key()])), encoding="utf-8")
    listing = tmp_path / "nodos.csv"
    listing.write_text(
        "cut;url;interval;trust_fetched_keys\n"
        f"{CUT};{base};600;sí\n"
        "13119;http://127.0.0.1:9/nada;;no\n"  # nothing listens there
        "99999;https://x.example.cl;;\n"  # not a commune
        f"{CUT};{base};;\n"  # the same commune twice
        "13128;no-es-url;;\n",
        encoding="cp1252",
    )
    first = agg(cli_env, "node", "import", str(listing))
    again = agg(cli_env, "node", "import", str(listing))
    listed = agg(cli_env, "node", "list")
    bad_header = tmp_path / "malo.csv"
    bad_header.write_text("comuna,direccion\n13122,http://x\n", encoding="utf-8")
    refused_file = agg(cli_env, "node", "import", str(bad_header))
    lines = [line for line in first[1].splitlines() if line.startswith("fila")]
    assert first[0] == 1  # some rows were refused
    assert first[3] is None
    assert len(lines) == 5
    assert "fila    2  13122  registrado (claves confirmadas)" in first[1]
    assert "fila    3  13119  rechazado: [connect.refused]" in first[1]
    assert "fila    4  99999  rechazado" in first[1]
    assert "ya está en la fila 2" in first[1]
    assert "fila    6  13128  rechazado" in first[1]
    assert "1 de 5 filas registradas" in first[1]
    assert "fila    2  13122  actualizado (claves confirmadas)" in again[1]  # idempotent
    assert listed[1].count(CUT) == 1
    assert refused_file[0] == 2
    assert "columna comuna" in refused_file[2]


def test_aggregator_init_writes_settings_and_a_database_and_never_overwrites(tmp_path: Path) -> None:
    config = tmp_path / "agg" / "aggregator.toml"
    runner = CliRunner()
    made = runner.invoke(cli, ["aggregator", "init", "--config", str(config), "--allow-network", "127.0.0.0/8"])
    again = runner.invoke(cli, ["aggregator", "init", "--config", str(config)])
    bad = runner.invoke(
        cli, ["aggregator", "init", "--config", str(tmp_path / "x.toml"), "--allow-network", "300.0.0.0/8"]
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.split("(se muestra solo esta vez): ")[1].split()[0]
    settings = load_settings(config, {})
    assert settings.allowed_networks == ["127.0.0.0/8"]
    assert settings.admin_token_hashes == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in config.read_text(encoding="utf-8")
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    listed = runner.invoke(cli, ["aggregator", "node", "list", "--config", str(config)])
    assert listed.exit_code == 0, listed.output  # migrated and seeded
    assert again.exit_code == 2
    assert "ya existe" in again.stderr
    assert bad.exit_code == 2
    assert not (tmp_path / "x.toml").exists()
