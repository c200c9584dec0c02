"""Node setup on disk: init, migrations that match the models, key rotation with a grace period, CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

from node_helpers import client, load_fixture, make_node
from ogp_federation.cli import cli
from ogp_federation.core.db import Database
from ogp_federation.core.errors import ConfigurationError
from ogp_federation.feed import signing, validate
from ogp_federation.feed.model import Contact
from ogp_federation.node.keyring import KeyRing
from ogp_federation.node.models import NodeBase
from ogp_federation.node.settings import load_settings
from ogp_federation.node.setup import init_node, rotate_key
from test_node_federation import CLI, free_port


async def test_migrations_create_exactly_the_models(tmp_path: Path, database_url: str) -> None:
    settings = await make_node(tmp_path, database_url)
    db = Database(settings.resolved_database_url)

    def diff(connection: Any) -> list[Any]:
        return compare_metadata(MigrationContext.configure(connection), NodeBase.metadata)

    try:
        async with db.engine.connect() as connection:
            differences = await connection.run_sync(diff)
    finally:
        await db.close()
    assert differences == []


async def test_init_creates_a_private_key_readable_by_the_owner_only_and_publishes(tmp_path: Path) -> None:
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    key = settings.data_path / "keys" / "signing-key.jwk.json"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret = json.loads(key.read_text())["d"]
    assert secret not in (tmp_path / "node.toml").read_text()
    async with client(settings) as http:
        feed = await http.get("/feed/v1/plan.json")
    assert feed.headers["OGP-Sequence"] == "1"
    assert validate(feed.content).valid


async def test_init_refuses_an_unknown_cut_and_an_existing_node(tmp_path: Path) -> None:
    contact = Contact(name="GA")
    with pytest.raises(ConfigurationError):
        await init_node(
            tmp_path / "a.toml", cut="99999", data_dir=tmp_path / "a", public_url="http://x", contact=contact
        )
    await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    with pytest.raises(ConfigurationError):
        await init_node(
            tmp_path / "node.toml", cut="13122", data_dir=tmp_path / "b", public_url="http://x", contact=contact
        )


async def test_rotation_keeps_the_old_key_for_the_grace_period(tmp_path: Path) -> None:
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    async with client(settings) as http:
        old_feed = await http.get("/feed/v1/plan.json")
    old_kid, new_kid = rotate_key(settings)
    await load_fixture(settings)
    async with client(settings) as http:
        jwks = signing.load_jwks((await http.get("/feed/v1/jwks.json")).content)
        new_feed = await http.get("/feed/v1/plan.json")
    assert set(jwks) == {old_kid, new_kid}
    assert signing.verify(old_feed.content, old_feed.headers["OGP-Signature"], jwks).kid == old_kid
    assert signing.verify(new_feed.content, new_feed.headers["OGP-Signature"], jwks).kid == new_kid
    ring = KeyRing.load(settings.data_path / "keys")
    later = datetime.now(UTC) + timedelta(days=settings.key_grace_days + 1)
    assert [entry["kid"] for entry in ring.jwks(later, timedelta(days=settings.key_grace_days))["keys"]] == [new_kid]


def test_a_key_ring_publishes_no_more_keys_than_a_jwks_may_hold(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path / "keys")
    now, grace = datetime.now(UTC), timedelta(days=30)
    kids = [ring.rotate(now) for _ in range(signing.MAX_JWKS_KEYS + 5)]  # many rotations within the grace
    jwks = ring.jwks(now, grace)
    body = json.dumps(jwks).encode()
    endorsements = ring.endorsements(body, now, grace)
    assert len(signing.load_jwks(body)) == signing.MAX_JWKS_KEYS  # what an aggregator accepts
    assert [k["kid"] for k in jwks["keys"]] == kids[::-1][: signing.MAX_JWKS_KEYS]  # the newest
    assert len(endorsements) == signing.MAX_JWKS_KEYS
    assert all(signing.verify(body, token, signing.load_jwks(body)) for token in endorsements)


def test_settings_file_and_environment_overrides(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\ncut = "13119"\ndata_dir = "datos"\n[node.contact]\nname = "GA"\n', encoding="utf-8")
    settings = load_settings(config, {"OGP_NODE_PUBLIC_URL": "https://ga.maipu.cl/", "OGP_NODE_KEY_GRACE_DAYS": "7"})
    assert settings.data_dir == str(tmp_path / "datos")
    assert settings.base_url == "https://ga.maipu.cl"
    assert settings.key_grace_days == 7
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    config.write_text('[node]\ncut = "123"\ndata_dir = "x"\n[node.contact]\nname = "GA"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, {})
    assert "cut" in (caught.value.detail or "")


def test_cli_commands_report_errors_with_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["node", "token", "create", "ana", "--config", str(tmp_path / "none.toml")])
    assert missing.exit_code == 2
    assert "node init" in missing.stderr
    init = runner.invoke(
        cli, ["node", "init", "--cut", "00001", "--config", str(tmp_path / "n.toml"), "--data-dir", str(tmp_path / "d")]
    )
    assert init.exit_code == 2
    assert "00001" in init.stderr


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--contact-email", "not-an-address"], "$.contact.email"),
        (["--public-url", "ga.penalolen.cl"], "$.public_url"),
        (["--database-url", "mysql://root@127.0.0.1/test"], "database_url uses 'mysql'"),
        # A loopback port nothing listens on: refused at once, after the key was made.
        (["--database-url", "postgresql+asyncpg://ogp@127.0.0.1:1/ogp"], "error [database.unavailable]"),
    ],
)
def test_a_failed_init_leaves_nothing_that_blocks_the_next_one(tmp_path: Path, extra: list[str], expected: str) -> None:
    config, data = tmp_path / "node.toml", tmp_path / "datos"
    base = ["node", "init", "--cut", "13122", "--config", str(config), "--data-dir", str(data)]
    failed = CliRunner().invoke(cli, [*base, *extra])
    leftovers = (config.exists(), (data / "keys" / "signing-key.jwk.json").exists())
    retried = CliRunner().invoke(cli, base)
    assert (failed.exit_code, failed.exception.__class__) == (2, SystemExit)
    assert expected in failed.stderr
    assert leftovers == (False, False)
    assert retried.exit_code == 0, retried.stderr
    assert load_settings(config, {}).cut == "13122"


def test_environment_overrides_that_are_not_numbers_are_reported(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\ncut = "13119"\ndata_dir = "datos"\n[node.contact]\nname = "GA"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, {"OGP_NODE_KEY_GRACE_DAYS": "siete"})
    assert "key_grace_days" in (caught.value.detail or "")


def test_cli_file_errors_and_bad_base_urls_exit_2_and_write_nothing(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    common = ["--config", str(config)]
    init = CliRunner().invoke(cli, ["node", "init", "--cut", "13122", *common, "--data-dir", str(tmp_path / "d")])
    unwritable = CliRunner().invoke(cli, ["node", "export", "--out", str(tmp_path / "no" / "such" / "x.xlsx"), *common])
    site = tmp_path / "site"
    bad_base = CliRunner().invoke(cli, ["node", "export-static", "--out", str(site), "--base-url", "ga.cl", *common])
    assert init.exit_code == 0, init.stderr
    assert (unwritable.exit_code, unwritable.exception.__class__) == (2, SystemExit)
    assert "error [io]" in unwritable.stderr
    assert "x.xlsx" in unwritable.stderr
    assert (bad_base.exit_code, bad_base.exception.__class__) == (2, SystemExit)
    assert "base_url" in bad_base.stderr
    assert not site.exists()


def test_serve_refuses_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    init = CliRunner().invoke(
        cli, ["node", "init", "--cut", "13122", "--config", str(config), "--data-dir", str(tmp_path / "d")]
    )
    empty = {"OGP_NODE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}
    # A real process with a deadline: were the check ever lost, the test fails instead of serving for ever.
    served = subprocess.run(
        [CLI, "node", "serve", "--config", str(config), "--port", str(free_port())],
        env={**os.environ, **empty},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert init.exit_code == 0, init.stderr
    assert served.returncode == 2
    assert "error [database.not_initialised]" in served.stderr
    assert "Traceback" not in served.stderr


def test_push_urls_must_be_http_urls(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        '[node]\ncut = "13119"\ndata_dir = "datos"\npush_urls = ["agregador.cl/push"]\n[node.contact]\nname = "GA"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, {})
    assert "$.push_urls[0]" in (caught.value.detail or "")


async def test_serving_on_another_port_derives_a_local_public_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: `node serve --port N` with the default public_url published a descriptor for port 8080."""
    from node_helpers import make_node  # noqa: PLC0415
    from ogp_federation.cli.node import _local_public_url  # noqa: PLC0415

    monkeypatch.delenv("OGP_NODE_PUBLIC_URL", raising=False)
    local = await make_node(
        tmp_path / "a", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", public_url="http://127.0.0.1:8080"
    )
    public = await make_node(
        tmp_path / "b", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", public_url="https://ga.comuna.cl"
    )
    config_a, config_b = tmp_path / "a" / "node.toml", tmp_path / "b" / "node.toml"
    assert local.public_url == "http://127.0.0.1:8080"
    assert public.public_url == "https://ga.comuna.cl"
    assert _local_public_url(config_a, "127.0.0.1", 9000) == "http://127.0.0.1:9000"
    assert _local_public_url(config_a, "::1", 9000) == "http://[::1]:9000"
    assert _local_public_url(config_a, "127.0.0.1", 8080) is None
    assert _local_public_url(config_b, "127.0.0.1", 9000) is None  # behind a proxy: the port differs by design
