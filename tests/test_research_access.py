"""Research access: OAuth2 client credentials, JWT access tokens, the auth matrix, quotas, exact paging."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jws, jwt
from joserfc.jwk import KeySet, OctKey

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due
from ogp_federation.aggregator.app import create_app
from ogp_federation.aggregator.research.tokens import issue
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.feed import signing

RECORDS = "/api/v1/federation/records"
BASE = "http://127.0.0.1:8100"  # the aggregator's public_url in the tests' settings


@asynccontextmanager
async def served(runtime: AggregatorRuntime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime.settings, runtime=runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        yield http


async def _token(http: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None) -> httpx.Response:
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return await http.post("/oauth/token", data=form, auth=(client_id, secret))


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'at+jwt'})}.{part(claims)}."


def _claims(runtime: AggregatorRuntime, client_id: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": runtime.research.issuer,
        "aud": runtime.research.audience,
        "sub": client_id,
        "client_id": client_id,
        "scope": "read",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "j" + str(now),
    }
    return {**claims, **changes}


async def test_a_client_gets_a_token_and_every_bad_token_is_refused_with_its_reason(database_url: str) -> None:
    async with aggregator(database_url) as runtime, served(runtime) as http:
        client, secret = await runtime.research.create_client(
            name="U. de Chile", contact="a@uchile.cl", scopes=["read"]
        )
        stream_only, stream_secret = await runtime.research.create_client(
            name="PUC", contact="b@uc.cl", scopes=["stream"]
        )
        granted = await _token(http, client.client_id, secret)
        access = granted.json()["access_token"]
        key = await runtime.research.keys.current()
        stranger = signing.generate_key()
        public = key.as_dict(private=False)
        hmac_key = OctKey.import_key(json.dumps(public).encode())
        cases = {
            "no token": None,
            "malformed": "Bearer abc.def",
            "expired": "Bearer "
            + issue(
                key,
                issuer=runtime.research.issuer,
                audience=runtime.research.audience,
                client_id=client.client_id,
                scope="read",
                lifetime=-3600,
            ),
            "not yet valid": "Bearer "
            + jwt.encode(
                {"alg": "Ed25519", "typ": "at+jwt"},
                _claims(runtime, client.client_id, nbf=int(time.time()) + 3600),
                key,
                algorithms=["Ed25519"],
            ),
            "wrong audience": "Bearer "
            + issue(
                key,
                issuer=runtime.research.issuer,
                audience="https://elsewhere.example/api",
                client_id=client.client_id,
                scope="read",
                lifetime=300,
            ),
            "wrong issuer": "Bearer "
            + issue(
                key,
                issuer="https://evil.example",
                audience=runtime.research.audience,
                client_id=client.client_id,
                scope="read",
                lifetime=300,
            ),
            "alg none": "Bearer " + _unsigned(_claims(runtime, client.client_id)),
            "HS256 with the public key": "Bearer "
            + jwt.encode({"alg": "HS256", "typ": "at+jwt"}, _claims(runtime, client.client_id), hmac_key),
            "another key": "Bearer "
            + issue(
                stranger,
                issuer=runtime.research.issuer,
                audience=runtime.research.audience,
                client_id=client.client_id,
                scope="read",
                lifetime=300,
            ),
        }
        answers = {
            name: await http.get(RECORDS, headers={"Authorization": value} if value else {})
            for name, value in cases.items()
        }
        good = await http.get(RECORDS, headers={"Authorization": f"Bearer {access}"})
        scoped = (await _token(http, stream_only.client_id, stream_secret)).json()["access_token"]
        insufficient = await http.get(RECORDS, headers={"Authorization": f"Bearer {scoped}"})
        revoked_ok = await http.post("/oauth/revoke", data={"token": access}, auth=(client.client_id, secret))
        after_revoke = await http.get(RECORDS, headers={"Authorization": f"Bearer {access}"})
        second = (await _token(http, client.client_id, secret)).json()["access_token"]
        await runtime.research.disable(client.client_id)
        disabled = await http.get(RECORDS, headers={"Authorization": f"Bearer {second}"})
        no_new_token = await _token(http, client.client_id, secret)
    assert granted.status_code == 200, granted.text
    assert granted.json()["token_type"] == "Bearer"
    assert good.status_code == 200, good.text
    assert good.headers["RateLimit-Limit"] == "600"
    missing = answers.pop("no token")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith('Bearer realm="ogp-federation"')
    assert "error=" not in missing.headers["WWW-Authenticate"]  # RFC 6750 §3.1: no error code without a token
    for name, answer in [*answers.items(), ("revoked", after_revoke), ("disabled client", disabled)]:
        assert answer.status_code == 401, (name, answer.text)
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"], name
        assert answer.headers["content-type"].startswith("application/problem+json"), name
    assert "revoked" in after_revoke.headers["WWW-Authenticate"]
    assert "expired" in answers["expired"].headers["WWW-Authenticate"]
    assert insufficient.status_code == 403
    assert 'error="insufficient_scope"' in insufficient.headers["WWW-Authenticate"]
    assert revoked_ok.status_code == 200
    assert no_new_token.status_code == 401
    assert no_new_token.json()["error"] == "invalid_client"


async def test_the_token_endpoint_follows_rfc_6749(tmp_path: Any) -> None:
    async with aggregator(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") as runtime, served(runtime) as http:
        client, secret = await runtime.research.create_client(
            name="UdeC", contact="c@udec.cl", scopes=["read", "stream"]
        )
        wrong_secret = await _token(http, client.client_id, "not-the-secret")
        unknown = await _token(http, "ogp-nobody", secret)
        wrong_grant = await http.post("/oauth/token", data={"grant_type": "password"}, auth=(client.client_id, secret))
        narrowed = await _token(http, client.client_id, secret, scope="stream")
        in_the_body = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": secret},
        )
        new_secret = await runtime.research.rotate_secret(client.client_id)
        old_after_rotation = await _token(http, client.client_id, secret)
        new_after_rotation = await _token(http, client.client_id, new_secret)
        metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
        keys = (await http.get("/oauth/jwks.json")).json()
        not_form = await http.post("/oauth/token", content=b"\x00" * 100, headers={"Content-Type": "text/plain"})
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    assert unknown.status_code == 401
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] in {"unsupported_grant_type", "unauthorized_client"}
    assert narrowed.json()["scope"] == "stream"
    assert in_the_body.status_code == 200
    assert old_after_rotation.status_code == 401
    assert new_after_rotation.status_code == 200
    assert metadata["issuer"] == BASE
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert metadata["token_endpoint"].endswith("/oauth/token")
    decoded = jwt.decode(new_after_rotation.json()["access_token"], KeySet.import_key_set(keys), algorithms=["Ed25519"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["client_id"] == client.client_id
    assert not_form.status_code == 400


async def test_introspection_shows_a_client_its_own_live_tokens_only(tmp_path: Any) -> None:
    async with aggregator(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") as runtime, served(runtime) as http:
        one, one_secret = await runtime.research.create_client(name="A", contact="a@x.cl", scopes=["read"])
        two, two_secret = await runtime.research.create_client(name="B", contact="b@x.cl", scopes=["read"])
        token = (await _token(http, one.client_id, one_secret)).json()["access_token"]
        own = await http.post("/oauth/introspect", data={"token": token}, auth=(one.client_id, one_secret))
        other = await http.post("/oauth/introspect", data={"token": token}, auth=(two.client_id, two_secret))
        garbage = await http.post("/oauth/introspect", data={"token": "x.y.z"}, auth=(one.client_id, one_secret))
        anonymous = await http.post("/oauth/introspect", data={"token": token})
        await http.post("/oauth/revoke", data={"token": token}, auth=(one.client_id, one_secret))
        revoked = await http.post("/oauth/introspect", data={"token": token}, auth=(one.client_id, one_secret))
    assert own.json()["active"] is True
    assert own.json()["client_id"] == one.client_id
    assert other.json() == {"active": False}
    assert garbage.json() == {"active": False}
    assert anonymous.status_code == 401
    assert revoked.json() == {"active": False}


async def test_quotas_are_shared_by_every_process_and_answered_with_429(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    async with aggregator(url) as first, aggregator(url) as second:
        client, secret = await first.research.create_client(
            name="Q", contact="q@x.cl", scopes=["read"], quota_per_minute=4
        )
        async with served(first) as one, served(second) as two:
            token = (await _token(one, client.client_id, secret)).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            answers = [await (one if n % 2 else two).get(RECORDS, headers=auth) for n in range(6)]
    statuses = [answer.status_code for answer in answers]
    if time.time() % 60 < 1:  # pragma: no cover (the minute turned mid-test: the count started again)
        pytest.skip("the quota window turned during the test")
    assert statuses == [200, 200, 200, 200, 429, 429]
    limited = answers[4]
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert limited.json()["code"] == "quota.exceeded"
    assert [a.headers["RateLimit-Remaining"] for a in answers[:4]] == ["3", "2", "1", "0"]


async def test_a_third_party_oauth_client_pages_every_record_once_while_versions_land(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Authlib's own httpx client gets the token; new versions land between pages; each record comes once."""
    caplog.set_level(logging.DEBUG)
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        cuts = [f"131{n:02d}" for n in range(1, 13)]
        nodes = {cut: server.add(FakeNode(cut)) for cut in cuts}
        for cut in cuts:
            await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        client, secret = await runtime.research.create_client(name="Mirror", contact="m@x.cl", scopes=["read"])
        expected = set()
        for cut in cuts:
            page = None
            for entity in ("commitments", "milestones", "action_plans", "organizations"):
                page = await runtime.history.records(cut, entity, limit=5000)
                expected |= {(cut, entity, str(r.get("id") or r.get("code"))) for r in page.items}
        app = create_app(runtime.settings, runtime=runtime)
        oauth = AsyncOAuth2Client(
            client.client_id,
            secret,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 (a method name)
            transport=httpx2.ASGITransport(app=app),
            base_url=BASE,
        )
        async with oauth:
            await oauth.fetch_token(BASE + "/oauth/token", grant_type="client_credentials")
            seen: list[tuple[str, str, str]] = []
            url: str | None = RECORDS + "?limit=40"
            landed = 0
            while url is not None:
                answer = await oauth.get(BASE + url)
                assert answer.status_code == 200, answer.text
                seen += [(item["cut"], item["entity"], item["key"]) for item in answer.json()]
                link = answer.headers.get("link")
                url = link.split(">")[0].lstrip("<") if link else None
                if landed < 3:  # a commune publishes a new version between pages
                    node = nodes[cuts[landed]]
                    node.publish(node.sequence + 1)
                    await make_due(runtime, node.cut)
                    await runtime.scheduler.tick()
                    landed += 1
    assert len(seen) == len(set(seen))  # exactly once each
    listed = {
        (cut, entity, key)
        for cut, entity, key in seen
        if entity in {"commitments", "milestones", "action_plans", "organizations"}
    }
    assert listed == expected
    assert landed == 3
    assert secret not in caplog.text
    assert all(secret not in str(record.__dict__) for record in caplog.records)


async def test_bad_client_definitions_are_refused_with_the_field_named(tmp_path: Any) -> None:
    from ogp_federation.core.errors import InvalidInputError  # noqa: PLC0415

    async with aggregator(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") as runtime:
        with pytest.raises(InvalidInputError) as scope:
            await runtime.research.create_client(name="X", contact="x@y.cl", scopes=["admin"])
        with pytest.raises(InvalidInputError) as contact:
            await runtime.research.create_client(name="X", contact="nobody", scopes=["read"])
        with pytest.raises(InvalidInputError) as none:
            await runtime.research.create_client(name="X", contact="x@y.cl", scopes=[])
        stored = await runtime.research.clients()
    assert scope.value.errors[0]["path"] == "scopes"
    assert contact.value.errors[0]["path"] == "contact"
    assert none.value.errors[0]["path"] == "scopes"
    assert stored == []


def _example(heading: str) -> str:
    """The first Python block after ``heading`` in the researchers' guide, as written."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "investigadores.md").read_text(encoding="utf-8")
    return text.split(heading, 1)[1].split("```python\n", 1)[1].split("```", 1)[0]


async def test_the_researchers_guide_examples_run_as_written(tmp_path: Path) -> None:
    """The guide's Authlib example gets a token and a page; its offline check verifies, and fails on one byte."""
    from test_node_federation import CLI, free_port, process  # noqa: PLC0415

    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    async with fake_nodes() as server, aggregator(url) as runtime:
        server.add(FakeNode("13122"))
        await runtime.registry.add_node("13122", server.base("13122"), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        version = (await runtime.history.versions("13122")).items[0].id
        client, secret = await runtime.research.create_client(name="Guía", contact="g@x.cl", scopes=["read"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"OGP_AGG_DATABASE_URL": url, "OGP_AGG_SCHEDULER": "false", "OGP_AGG_PUBLIC_URL": base}
    token_example = _example("Con Python y Authlib:").replace("https://federacion.example.cl", base)
    verify_example = _example("## Verificar una versión")
    printed: list[str] = []
    names = {"CLIENT_ID": client.client_id, "CLIENT_SECRET": secret, "BASE": base, "VERSION": version, "CUT": "13122"}
    with process(CLI, "aggregator", "serve", "--port", str(port), env=env, ready_url=f"{base}/health"):
        scope: dict[str, Any] = dict(names)
        exec(token_example, scope)  # noqa: S102 (the guide's own code)
        exec(verify_example, {**names, "print": lambda *args: printed.append(" ".join(map(str, args)))})  # noqa: S102
        tampered = verify_example.replace("answer.read()", "answer.read() + b' '")
        with pytest.raises(Exception, match=r"(?i)signature|bad"):
            exec(tampered, {**names, "print": print})  # noqa: S102
    assert scope["page"].status_code == 200
    assert scope["page"].json()
    assert printed
    assert printed[0].startswith("firma válida, clave ")


async def test_a_mirror_follows_the_change_stream_and_misses_no_version(database_url: str) -> None:
    """Versions listed in the order they were accepted; the last cursor finds what landed later, once."""
    async with fake_nodes() as server, aggregator(database_url, stream_settle_seconds=0) as runtime:
        nodes = [server.add(FakeNode(cut)) for cut in ("13101", "13102", "13103")]
        for node in nodes:
            await runtime.registry.add_node(node.cut, server.base(node.cut), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        client, secret = await runtime.research.create_client(name="Espejo", contact="e@x.cl", scopes=["stream"])
        async with served(runtime) as http:
            token = (await _token(http, client.client_id, secret)).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            first = await http.get("/api/v1/stream", params={"limit": 2}, headers=auth)
            cursor = first.headers["link"].split("cursor=")[1].split(">")[0]
            second = await http.get("/api/v1/stream", params={"limit": 2, "cursor": cursor}, headers=auth)
            last = second.headers["link"].split("cursor=")[1].split(">")[0]
            empty = await http.get("/api/v1/stream", params={"cursor": last}, headers=auth)
            nodes[1].publish(nodes[1].sequence + 1)
            await make_due(runtime, nodes[1].cut)
            await runtime.scheduler.tick()
            later = await http.get("/api/v1/stream", params={"cursor": last}, headers=auth)
            changes = await http.get(later.json()[0]["changes"])
            read_only = await runtime.research.create_client(name="R", contact="r@x.cl", scopes=["read"])
            other = (await _token(http, read_only[0].client_id, read_only[1])).json()["access_token"]
            refused = await http.get("/api/v1/stream", headers={"Authorization": f"Bearer {other}"})
            bad_cursor = await http.get("/api/v1/stream", params={"cursor": "nonsense"}, headers=auth)
    listed = [item["cut"] for item in first.json() + second.json()]
    assert sorted(listed) == ["13101", "13102", "13103"]
    assert len(first.json()) == 2
    assert empty.json() == []
    assert "link" not in empty.headers
    assert [(item["cut"], item["sequence"]) for item in later.json()] == [("13102", nodes[1].sequence)]
    assert changes.status_code == 200
    assert refused.status_code == 403
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["path"] == "cursor"


def test_operators_manage_clients_from_the_command_line(tmp_path: Path) -> None:
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    from test_node_federation import CLI  # noqa: PLC0415

    env = {**os.environ, "OGP_AGG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "aggregator", *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    assert run("db", "upgrade").returncode == 0
    made = run("client", "create", "--name", "U. de Valparaíso", "--contact", "datos@uv.cl", "--scopes", "read,stream")
    client_id = made.stdout.split("client_id: ")[1].split()[0]
    secret = made.stdout.split("(se muestra solo esta vez): ")[1].split()[0]
    listed = run("client", "list")
    rotated = run("client", "rotate", client_id)
    new_secret = rotated.stdout.split("(se muestra solo esta vez): ")[1].split()[0]
    disabled = run("client", "disable", client_id)
    again = run("client", "disable", client_id)
    unknown_scope = run("client", "create", "--name", "X", "--contact", "x@y.cl", "--scopes", "admin")
    assert made.returncode == 0, made.stderr
    assert "alcances: read stream" in made.stdout
    assert client_id in listed.stdout
    assert secret not in listed.stdout
    assert "U. de Valparaíso" in listed.stdout
    assert new_secret != secret
    assert disabled.returncode == 0
    assert "deshabilitado" in run("client", "list").stdout
    assert again.returncode == 2
    assert unknown_scope.returncode == 2
    assert "scopes" in unknown_scope.stderr


async def test_a_version_stays_checkable_with_its_own_key_after_the_commune_rotates(database_url: str) -> None:
    """The key that signed an old version is kept: its JWKS verifies the old bytes after a rotation."""
    from joserfc.jwk import KeySet  # noqa: PLC0415

    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = server.add(FakeNode("13122"))
        await runtime.registry.add_node("13122", server.base("13122"), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        old_key = node.key
        new_key = signing.generate_key()
        node.key, node.published, node.endorsers = new_key, [new_key], [old_key]  # endorsed by the old key
        node.publish(2)
        await make_due(runtime, "13122")
        await runtime.scheduler.tick()
        versions = (await runtime.history.versions("13122")).items
        async with served(runtime) as http:
            first = await http.get(f"/api/v1/versions/{versions[0].id}/document")
            first_keys = (await http.get(f"/api/v1/versions/{versions[0].id}/keys")).json()
            second_keys = (await http.get(f"/api/v1/versions/{versions[1].id}/keys")).json()
            pinned = (await http.get("/api/v1/communes/13122/keys")).json()
            missing = await http.get("/api/v1/versions/999999/keys")
    assert [v.status for v in versions] == ["accepted", "accepted"]
    verified = jws.deserialize_compact(
        first.headers["OGP-Signature"], KeySet.import_key_set(first_keys), algorithms=["Ed25519"], payload=first.content
    )
    assert verified.protected["kid"] == old_key.thumbprint()
    assert second_keys["keys"][0]["kid"] == new_key.thumbprint()
    assert old_key.thumbprint() not in {k["kid"] for k in pinned["keys"]}  # no longer pinned, still on record
    assert missing.status_code == 404
