"""Staff accounts: Argon2id with rehash on login, throttled logins, expiring tokens, and the CLI around them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from node_helpers import PASSWORD, client, make_node
from ogp_federation.cli import cli
from ogp_federation.node.auth import LoginThrottle, hash_password, verify_password
from ogp_federation.node.models import ApiToken, User
from ogp_federation.node.runtime import NodeRuntime


@pytest.fixture
async def node(tmp_path: Path) -> Any:
    return await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")


def _legacy_scrypt(password: str) -> str:
    """A hash as the node stored them before Argon2id (scrypt, n=2**14)."""
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_passwords_are_hashed_with_argon2id_and_old_hashes_still_verify() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "x", stored)
    assert verify_password(PASSWORD, _legacy_scrypt(PASSWORD))
    assert not verify_password("otra-clave-larga", _legacy_scrypt(PASSWORD))
    assert not verify_password(PASSWORD, "not a hash")


async def test_an_old_hash_is_replaced_by_argon2id_at_the_next_login(node: Any) -> None:
    runtime = NodeRuntime(node)
    try:
        await runtime.staff.create_user("ana", PASSWORD, "editor")
        async with runtime.db.transaction() as session:
            await session.execute(
                update(User).where(User.username == "ana").values(password_hash=_legacy_scrypt(PASSWORD))
            )
        token = await runtime.staff.token_for_password("ana", PASSWORD, "login")
        async with runtime.db.sessions() as session:
            stored = await session.scalar(select(User.password_hash).where(User.username == "ana"))
    finally:
        await runtime.db.close()
    assert token.startswith("ogpn_")
    assert stored is not None
    assert stored.startswith("$argon2id$")


async def test_failed_logins_are_limited_per_account_and_per_address(node: Any) -> None:
    runtime = NodeRuntime(node)
    try:
        await runtime.staff.create_user("ana", PASSWORD, "editor")
        await runtime.staff.create_user("jefa", PASSWORD, "admin")
    finally:
        await runtime.db.close()
    async with client(node) as http:
        wrong = [
            await http.post("/admin/api/login", json={"username": "ana", "password": "no-es-la-clave"})
            for _ in range(5)
        ]
        blocked = await http.post("/admin/api/login", json={"username": "ana", "password": PASSWORD})
        other_account = await http.post("/admin/api/login", json={"username": "jefa", "password": PASSWORD})
    assert [answer.status_code for answer in wrong] == [401] * 5
    assert blocked.status_code == 429  # even with the right password: the account waits
    assert blocked.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(blocked.headers["retry-after"]) <= 900
    assert other_account.status_code in (200, 201)

    throttle = LoginThrottle(per_account=100, per_address=3, window=60)
    for name in ("a", "b", "c"):
        throttle.failed(name, "10.0.0.1")
    with pytest.raises(Exception, match="too many"):
        throttle.check("d", "10.0.0.1")  # a fourth account from the same address
    throttle.check("d", "10.0.0.2")


async def test_tokens_expire_and_can_be_listed_and_revoked(node: Any) -> None:
    runtime = NodeRuntime(node)
    try:
        await runtime.staff.create_user("ana", PASSWORD, "editor")
        lasting = await runtime.staff.create_token("ana", "script", days=30)
        expiring = await runtime.staff.create_token("ana", "viejo", days=1)
        async with runtime.db.transaction() as session:
            await session.execute(
                update(ApiToken).where(ApiToken.name == "viejo").values(expires_at=datetime.now(UTC) - timedelta(1))
            )
        listed = await runtime.staff.tokens("ANA")
        await runtime.staff.revoke_token(next(t.id for t in listed if t.name == "script"))
        with pytest.raises(Exception, match="no token in force"):
            await runtime.staff.revoke_token(next(t.id for t in listed if t.name == "script"))
    finally:
        await runtime.db.close()
    async with client(node) as http:
        expired = await http.get("/admin/api/organizations", headers={"Authorization": f"Bearer {expiring}"})
        revoked = await http.get("/admin/api/organizations", headers={"Authorization": f"Bearer {lasting}"})
    assert {t.name for t in listed} == {"script", "viejo"}
    assert all(t.expires_at is not None for t in listed)
    assert expired.status_code == revoked.status_code == 401
    assert "vencido" in expired.json()["title"]


def test_cli_user_create_without_a_terminal_scripts_and_generated_passwords(node: Any) -> None:
    runner = CliRunner()
    config = ["--config", str(Path(node.data_dir).parent / "node.toml")]
    no_terminal = runner.invoke(cli, ["node", "user", "create", "ana", *config], input="")
    short = runner.invoke(cli, ["node", "user", "create", "ana", "--password-stdin", *config], input="corta\n")
    scripted = runner.invoke(cli, ["node", "user", "create", "Ana", "--password-stdin", *config], input=PASSWORD + "\n")
    generated = runner.invoke(
        cli, ["node", "user", "create", "jefa", "--generate-password", "--role", "admin", *config]
    )
    bad_name = runner.invoke(cli, ["node", "user", "create", "ana perez", "--generate-password", *config])
    token = runner.invoke(cli, ["node", "token", "create", "ana", "--days", "7", *config])
    listed = runner.invoke(cli, ["node", "token", "list", *config])
    token_id = listed.stdout.split()[0]
    revoked = runner.invoke(cli, ["node", "token", "revoke", token_id, *config])
    again = runner.invoke(cli, ["node", "token", "revoke", token_id, *config])
    assert no_terminal.exit_code == 2
    assert "--password-stdin" in no_terminal.output
    assert short.exit_code == 2
    assert "12 caracteres" in short.output
    assert scripted.exit_code == 0, scripted.output
    assert "usuario ana (editor) creado" in scripted.output
    assert generated.exit_code == 0, generated.output
    assert "contraseña (se muestra solo esta vez)" in generated.output
    assert bad_name.exit_code == 2
    assert token.exit_code == 0
    assert token.stdout.strip().startswith("ogpn_")
    assert "Authorization: Bearer" in token.stderr
    assert "ana" in listed.stdout
    assert "vence el " in listed.stdout
    assert revoked.exit_code == 0
    assert again.exit_code == 2


def test_the_throttle_forgets_what_is_old_and_never_grows_without_bound() -> None:
    throttle = LoginThrottle(per_account=2, per_address=1000, window=60, max_keys=10)
    for index in range(100):  # a hundred invented usernames from one address
        throttle.failed(f"nadie{index}", "10.0.0.1")
    assert len(throttle._failures) <= 10
    throttle.failed("ana", "10.0.0.2")
    throttle.failed("ana", "10.0.0.2")
    with pytest.raises(Exception, match="too many"):
        throttle.check("ana", "10.0.0.3")
    throttle.succeeded("ana")
    throttle.check("ana", "10.0.0.3")
