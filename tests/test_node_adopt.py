"""Adopt in one step: a node takes a methodology from the library, checked against the publisher's signature.

The aggregator harvests the three fixture communes from signing fake nodes; Renca's real node reads the
aggregator's API through an ASGI transport, keeps the adopted methodology as a draft, and publishes it
only when asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from agg_helpers import aggregator, fake_nodes, harvest_fixtures
from conftest import FEEDS
from node_helpers import client, load_fixture, make_node, staff_token
from ogp_federation.aggregator.app import create_app as create_aggregator
from ogp_federation.core.errors import ConflictError, FetchError, InvalidInputError, NotFoundError
from ogp_federation.feed import Entity, decode, signing
from ogp_federation.node.adoption import SignedMethodology, _methodology_in, adopted_record
from ogp_federation.node.runtime import NodeRuntime
from ogp_federation.node.settings import NodeSettings

LIBRARY = "http://federacion.test"
SOURCE = ("13122", "mesas-territoriales")  # Peñalolén's methodology
PUBLISHERS = {"13122": "penalolen", "13119": "maipu"}


@asynccontextmanager
async def federation(database_url: str) -> AsyncIterator[httpx.ASGITransport]:
    """An aggregator that harvested Peñalolén and Maipú; its HTTP API as a transport."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await harvest_fixtures(runtime, server, PUBLISHERS)
        yield httpx.ASGITransport(app=create_aggregator(runtime.settings, runtime=runtime))


class Tamper(httpx.AsyncBaseTransport):
    """Changes one byte of every version document the aggregator sends (as a compromised mirror would)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if request.url.path.endswith("/document"):
            assert b"Mesas" in body
            body = body.replace(b"Mesas", b"Mesaz", 1)
        headers = {k: v for k, v in response.headers.items() if k not in {"content-encoding", "content-length"}}
        return httpx.Response(response.status_code, headers=headers, content=body)


async def _renca(tmp_path: Path) -> NodeSettings:
    settings = await make_node(tmp_path / "renca", f"sqlite+aiosqlite:///{tmp_path / 'renca.db'}", cut="13128")
    await load_fixture(settings, "renca.json")
    return settings


@asynccontextmanager
async def _node(settings: NodeSettings, transport: httpx.AsyncBaseTransport) -> AsyncIterator[NodeRuntime]:
    runtime = NodeRuntime(settings, library_transport=transport)
    try:
        yield runtime
    finally:
        await runtime.db.close()


async def test_adopting_keeps_a_verified_draft_and_publishes_nothing_until_asked(
    database_url: str, tmp_path: Path
) -> None:
    settings = await _renca(tmp_path)
    async with federation(database_url) as library, _node(settings, library) as renca:
        before = await renca.plan.current_sequence()
        draft = await renca.adopter.adopt(*SOURCE, author="ana", library_url=LIBRARY)
        methodologies = [r.key for r in await renca.plan.list_records(Entity.METHODOLOGIES)]
        after_adopt = await renca.plan.current_sequence()
        published = await renca.publish_draft(Entity.METHODOLOGIES, draft.key, author="ana")
        live = await renca.plan.get_record(Entity.METHODOLOGIES, draft.key)
        left = await renca.drafts.list()
    feed = msgspec.json.decode((FEEDS / "penalolen.json").read_bytes())
    source = next(m for m in feed["methodologies"] if m["id"] == SOURCE[1])
    assert source.get("commitment_ids"), "the fixture's methodology names Peñalolén's commitments"
    assert draft.key == SOURCE[1]
    assert draft.record["adopted_from"] == [{"cut": "13122", "id": "mesas-territoriales"}]
    assert draft.record["title"] == source["title"]
    assert draft.record["steps"] == source["steps"]
    assert draft.record.get("commitment_ids", []) == []  # Peñalolén's commitments are not Renca's
    assert draft.record["contact"]["email"] == "ga@example.cl"  # Renca answers for its adaptation
    assert draft.origin["cut"] == "13122"
    assert isinstance(draft.origin["version_id"], int)
    assert draft.origin["kid"]
    assert draft.key not in methodologies
    assert after_adopt == before  # adopting published nothing
    assert published.snapshot.sequence == before + 1
    published_feed = decode(published.snapshot.body)
    assert [m.adopted_from[0].cut for m in published_feed.methodologies if m.id == draft.key] == ["13122"]
    assert live.data["adopted_from"] == [{"cut": "13122", "id": "mesas-territoriales"}]
    assert left == []


async def test_a_changed_byte_or_the_wrong_keys_adopt_nothing(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"
    settings = await _renca(tmp_path)
    stranger = signing.generate_key()
    other_keys = msgspec.json.encode(signing.jwks_of([stranger]))
    async with federation(database_url) as library:
        async with _node(settings, Tamper(library)) as renca:
            with pytest.raises(FetchError) as tampered:
                await renca.adopter.adopt(*SOURCE, author="ana", library_url=LIBRARY)
            assert await renca.drafts.list() == []
        async with _node(settings, library) as renca:
            with pytest.raises(FetchError) as wrong_keys:
                await renca.adopter.adopt(*SOURCE, author="ana", library_url=LIBRARY, jwks=other_keys)
            assert await renca.drafts.list() == []
    assert tampered.value.code == "library.unverified"
    assert wrong_keys.value.code == "library.unverified"


async def test_what_cannot_be_adopted_is_refused_clearly(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"
    settings = await _renca(tmp_path)
    async with federation(database_url) as library, _node(settings, library) as renca:
        with pytest.raises(NotFoundError):
            await renca.adopter.adopt("13122", "no-existe", author="ana", library_url=LIBRARY)
        with pytest.raises(InvalidInputError) as own:
            await renca.adopter.adopt("13128", "x", author="ana", library_url=LIBRARY)
        with pytest.raises(InvalidInputError) as unset:
            await renca.adopter.adopt(*SOURCE, author="ana")
        first = await renca.adopter.adopt(*SOURCE, author="ana", library_url=LIBRARY)
        second = await renca.adopter.adopt(*SOURCE, author="ana", library_url=LIBRARY)
        with pytest.raises(ConflictError):
            await renca.adopter.adopt(*SOURCE, author="ana", library_url=LIBRARY, new_id=first.key)
        unreachable = NodeRuntime(settings)  # no transport: nothing listens at the library's address
        try:
            with pytest.raises(FetchError) as down:
                await unreachable.adopter.adopt(*SOURCE, author="ana", library_url="http://127.0.0.1:9")
        finally:
            await unreachable.db.close()
    assert own.value.errors[0]["path"] == "cut"
    assert unset.value.errors[0]["path"] == "library_url"
    assert (first.key, second.key) == ("mesas-territoriales", "mesas-territoriales-13122")
    assert down.value.code == "library.fetch"


async def test_the_admin_api_adopts_edits_and_publishes_a_draft(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"
    settings = await _renca(tmp_path)
    settings = msgspec.structs.replace(settings, library_url=LIBRARY)
    token = await staff_token(settings)
    auth = {"Authorization": f"Bearer {token}"}
    path = "/admin/api/drafts/methodologies/mesas-territoriales"
    async with federation(database_url) as library, client(settings, library_transport=library) as http:
        created = await http.post("/admin/api/drafts/adopt", json={"cut": "13122", "id": SOURCE[1]}, headers=auth)
        anonymous = await http.post("/admin/api/drafts/adopt", json={"cut": "13122", "id": SOURCE[1]})
        hostile = await http.post("/admin/api/drafts/adopt", json={"cut": "13122", "id": "../x"}, headers=auth)
        extra = await http.post(
            "/admin/api/drafts/adopt", json={"cut": "13122", "id": "x", "library_url": "http://10.0.0.1"}, headers=auth
        )
        feed_before = (await http.get("/feed/v1/plan.json")).content
        record: dict[str, Any] = created.json()["record"]
        edited_record = {**record, "title": "Mesas territoriales de Renca"}
        no_version = await http.put(path, json=edited_record, headers=auth)
        broken = await http.put(path, json={**record, "pillars": []}, headers={**auth, "If-Match": '"1"'})
        edited = await http.put(path, json=edited_record, headers={**auth, "If-Match": '"1"'})
        stale = await http.post(f"{path}/publish", headers={**auth, "If-Match": '"1"'})
        unknown_entity = await http.get("/admin/api/drafts/recetas/x", headers=auth)
        listed = await http.get("/admin/api/drafts", headers=auth)
        published = await http.post(f"{path}/publish", headers={**auth, "If-Match": '"2"'})
        again = await http.post(f"{path}/publish", headers=auth)
        live = await http.get("/admin/api/methodologies/mesas-territoriales", headers=auth)
        feed_after = (await http.get("/feed/v1/plan.json")).content
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert anonymous.status_code == 401
    for refused in (hostile, extra):
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert no_version.status_code == 428
    assert broken.status_code == 422, broken.text
    assert "pillars" in broken.json()["errors"][0]["path"]
    assert edited.status_code == 200, edited.text
    assert stale.status_code == 412
    assert unknown_entity.status_code == 400
    assert [d["key"] for d in listed.json()] == ["mesas-territoriales"]
    assert published.status_code == 200, published.text
    assert again.status_code == 404  # published: no longer a draft
    assert live.json()["title"] == "Mesas territoriales de Renca"
    assert b"mesas-territoriales" not in feed_before
    assert b"Mesas territoriales de Renca" in feed_after


async def test_a_draft_that_would_make_the_feed_invalid_stays_a_draft(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"
    settings = await _renca(tmp_path)
    async with federation(database_url) as library, _node(settings, library) as renca:
        draft = await renca.adopter.adopt(*SOURCE, author="ana", library_url=LIBRARY)
        dangling = {**draft.record, "commitment_ids": ["no-existe-en-renca"]}
        await renca.drafts.replace(Entity.METHODOLOGIES, draft.key, dangling, expected_version=1, author="ana")
        before = await renca.plan.current_sequence()
        with pytest.raises(InvalidInputError) as refused:
            await renca.publish_draft(Entity.METHODOLOGIES, draft.key, author="ana")
        kept = await renca.drafts.get(Entity.METHODOLOGIES, draft.key)
        after = await renca.plan.current_sequence()
    assert any("commitment_ids" in str(item.get("path")) for item in refused.value.errors)
    assert kept.record["commitment_ids"] == ["no-existe-en-renca"]
    assert after == before


def test_the_methodology_is_read_from_a_signed_change_page_too() -> None:
    record = {"id": "m1", "title": "Cabildos", "pillars": ["citizen_participation"], "summary": "s"}
    page = {
        "cut": "13122",
        "since": 4,
        "until": 5,
        "changes": [{"entity": "methodologies", "id": "m1", "sequence": 5, "record": record}],
    }
    other_commune = {**page, "cut": "13119"}
    assert _methodology_in(msgspec.json.encode(page), "13122", "m1") == record
    assert _methodology_in(msgspec.json.encode(page), "13122", "m2") is None
    assert _methodology_in(msgspec.json.encode(other_commune), "13122", "m1") is None
    assert _methodology_in(b"[1, 2", "13122", "m1") is None


def test_an_adopted_record_names_its_source_and_keeps_its_text() -> None:
    from ogp_federation.feed.model import Contact  # noqa: PLC0415

    source = SignedMethodology(
        cut="13122",
        key="m1",
        record={"id": "m1", "title": "T", "adopted_from": [{"cut": "13101", "id": "x"}], "commitment_ids": ["c1"]},
        version_id=3,
        kid="k",
        library_url=LIBRARY,
    )
    made = adopted_record(source, new_id="m9", contact=Contact(name="Oficina", email="o@renca.cl"))
    assert made["id"] == "m9"
    assert made["title"] == "T"
    assert made["adopted_from"] == [{"cut": "13122", "id": "m1"}]  # the direct source: lineage is the library's
    assert made["commitment_ids"] == []
    assert made["contact"]["name"] == "Oficina"
    assert source.record["id"] == "m1"  # the source is not changed


async def test_the_command_line_adopts_over_real_http_and_publishes_after_an_edit(tmp_path: Path) -> None:
    """`node adopt` against a served aggregator on loopback; `node draft` shows, updates and publishes it."""
    from test_node_federation import CLI, cli, free_port, process  # noqa: PLC0415

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"
    async with federation(database_url):
        pass
    settings = await _renca(tmp_path)
    config = str(tmp_path / "renca" / "node.toml")
    port = free_port()
    env = {"OGP_AGG_DATABASE_URL": database_url, "OGP_AGG_SCHEDULER": "false"}
    with process(CLI, "aggregator", "serve", "--port", str(port), env=env, ready_url=f"http://127.0.0.1:{port}/health"):
        adopted = cli("node", "adopt", *SOURCE, "--from", f"http://127.0.0.1:{port}", "--config", config)
        missing = cli(
            "node", "adopt", "13122", "nada", "--from", f"http://127.0.0.1:{port}", "--config", config, check=False
        )
    listed = cli("node", "draft", "list", "--config", config)
    shown = msgspec.json.decode(cli("node", "draft", "show", SOURCE[1], "--config", config).stdout)
    edited = tmp_path / "edited.json"
    edited.write_bytes(msgspec.json.encode({**shown, "title": "Mesas territoriales de Renca"}))
    cli("node", "draft", "update", SOURCE[1], str(edited), "--config", config)
    not_json = tmp_path / "broken.json"
    not_json.write_text("{", encoding="utf-8")
    refused = cli("node", "draft", "update", SOURCE[1], str(not_json), "--config", config, check=False)
    published = cli("node", "draft", "publish", SOURCE[1], "--config", config)
    after = cli("node", "draft", "list", "--config", config)
    runtime = NodeRuntime(settings)
    try:
        live = await runtime.plan.get_record(Entity.METHODOLOGIES, SOURCE[1])
    finally:
        await runtime.db.close()
    assert "borrador mesas-territoriales creado" in adopted.stdout
    assert missing.returncode == 2
    assert "no está en la biblioteca" in missing.stderr
    assert "de 13122/mesas-territoriales" in listed.stdout
    assert shown["adopted_from"] == [{"cut": "13122", "id": "mesas-territoriales"}]
    assert refused.returncode == 2
    assert "no es JSON" in refused.stderr
    assert "publicado; secuencia" in published.stdout
    assert "ningún borrador" in after.stdout
    assert live.data["title"] == "Mesas territoriales de Renca"
