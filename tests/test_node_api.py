"""The node over HTTP (in process), on SQLite and on PostgreSQL: feed endpoints, admin API, evidence."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from openpyxl import load_workbook

from conftest import FEEDS
from node_helpers import PASSWORD, client, fixture_records, load_fixture, make_node, staff_token
from ogp_federation.core.errors import DatabaseUnavailableError
from ogp_federation.feed import SPEC_VERSION, decode, signing, validate
from ogp_federation.node.runtime import NodeRuntime
from ogp_federation.node.settings import NodeSettings, PublisherSettings
from ogp_federation.node.spreadsheet.files import write_xlsx
from ogp_federation.node.spreadsheet.tables import records_to_tables


@pytest.fixture
async def node(tmp_path: Path, database_url: str) -> Any:
    settings = await make_node(tmp_path, database_url)
    await load_fixture(settings)
    return settings


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


async def test_feed_is_valid_signed_and_equal_to_the_fixture_records(node: Any) -> None:
    async with client(node) as http:
        response = await http.get("/feed/v1/plan.json")
        jwks = signing.load_jwks((await http.get("/feed/v1/jwks.json")).content)
        detached = (await http.get("/feed/v1/plan.json.sig")).text
    assert response.status_code == 200
    body = response.content
    assert validate(body).valid
    assert signing.verify(body, response.headers["OGP-Signature"], jwks).kid
    assert signing.verify(body, detached, jwks).kid
    served, fixture = decode(body), decode((FEEDS / "penalolen.json").read_bytes())
    for name in ("commitments", "milestones", "participation_events", "inputs", "indicators", "observations"):
        assert getattr(served, name) == getattr(fixture, name), name


async def test_conditional_get_and_gzip(node: Any) -> None:
    async with client(node) as http:
        first = await http.get("/feed/v1/plan.json")
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert first.headers["Cache-Control"] == "public, no-cache"
        assert (await http.get("/feed/v1/plan.json", headers={"If-None-Match": etag})).status_code == 304
        assert (await http.get("/feed/v1/plan.json", headers={"If-None-Match": f"W/{etag}"})).status_code == 304
        assert (await http.get("/feed/v1/plan.json", headers={"If-Modified-Since": modified})).status_code == 304
        assert (await http.get("/feed/v1/plan.json", headers={"If-None-Match": '"otro"'})).status_code == 200
        zipped = await http.get("/feed/v1/plan.json", headers={"Accept-Encoding": "gzip"})
        head = await http.head("/feed/v1/plan.json", headers={"Accept-Encoding": "identity"})
        head_unchanged = await http.head("/feed/v1/plan.json", headers={"If-None-Match": etag})
        head_page = await http.head("/")
    # HEAD answers every GET resource: same status and headers, no body (harvesters and link checkers ask it)
    assert (head.status_code, head.content) == (200, b"")
    assert (head.headers["ETag"], head.headers["Content-Length"]) == (etag, str(len(first.content)))
    assert head.headers["OGP-Signature"] == first.headers["OGP-Signature"]
    assert head_unchanged.status_code == 304
    assert (head_page.status_code, head_page.content) == (200, b"")
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.content == first.content  # httpx decodes it; the bytes are the signed ones
    assert len(gzip.compress(first.content)) < len(first.content)


async def test_admin_change_moves_etag_sequence_and_change_feed(node: Any) -> None:
    token = await staff_token(node)
    async with client(node) as http:
        before = await http.get("/feed/v1/plan.json")
        sequence = int(before.headers["OGP-Sequence"])
        milestone = await http.get("/admin/api/milestones/verde-h3", headers=bearer(token))
        data = milestone.json() | {
            "status": "completed",
            "progress": 100,
            "completed_on": "2026-06-20",
            "evidence": [
                {"url": "https://www.penalolen.cl/e.pdf", "kind": "report", "title": "Informe escuelas ambientales"}
            ],
        }
        updated = await http.put(
            "/admin/api/milestones/verde-h3",
            json=data,
            headers=bearer(token, **{"If-Match": milestone.headers["ETag"]}),
        )
        assert updated.status_code == 200, updated.text
        deleted = await http.delete(
            "/admin/api/inputs/a-005",
            headers=bearer(
                token,
                **{"If-Match": (await http.get("/admin/api/inputs/a-005", headers=bearer(token))).headers["ETag"]},
            ),
        )
        assert deleted.status_code == 200
        after = await http.get("/feed/v1/plan.json", headers={"If-None-Match": before.headers["ETag"]})
        changes = (await http.get(f"/feed/v1/changes?since={sequence}")).json()
        history = (await http.get("/admin/api/milestones/verde-h3/history", headers=bearer(token))).json()
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert int(after.headers["OGP-Sequence"]) == sequence + 2
    assert [(c["entity"], c["id"], c["sequence"]) for c in changes["changes"]] == [
        ("milestones", "verde-h3", sequence + 1),
        ("inputs", "a-005", sequence + 2),
    ]
    assert changes["changes"][0]["record"]["status"] == "completed"
    assert "deleted_at" in changes["changes"][1]
    assert "record" not in changes["changes"][1]
    assert changes["until"] == sequence + 2
    feed = decode(after.content)
    assert [(t.entity.value, t.id) for t in feed.tombstones] == [("inputs", "a-005")]
    assert [(h["from"], h["to"], h["by"]) for h in history][-1] == ("in_progress", "completed", "editora")


async def test_change_feed_is_paginated_with_a_signed_cursor(tmp_path: Path, database_url: str) -> None:
    settings = await make_node(tmp_path, database_url)
    settings = msgspec.structs.replace(settings, changes_page_size=40)
    await load_fixture(settings)
    async with client(settings) as http:
        jwks = signing.load_jwks((await http.get("/feed/v1/jwks.json")).content)
        url, seen = "/feed/v1/changes?since=0", []
        while url:
            page = await http.get(url)
            signing.verify(page.content, page.headers["OGP-Signature"], jwks)
            document = page.json()
            seen += [(c["entity"], c["id"]) for c in document["changes"]]
            url = document["next"] and document["next"].removeprefix("http://testserver.local")
        ahead = await http.get("/feed/v1/changes?since=999")
        bad_cursor = await http.get("/feed/v1/changes?since=0&cursor=%%%")
        forged = base64.urlsafe_b64encode(msgspec.json.encode([0, 2**64, 2**64, -1])).decode().rstrip("=")
        huge_cursor = await http.get(f"/feed/v1/changes?since=0&cursor={forged}")
        huge_since = await http.get(f"/feed/v1/changes?since={2**70}")
    records = sum(len(v) for v in fixture_records().values())
    assert len(seen) == records
    assert len(set(seen)) == records
    assert ahead.status_code == 410
    assert bad_cursor.status_code == 422
    assert huge_cursor.status_code == 422
    assert huge_since.status_code == 400


async def test_descriptor_lists_the_documents(node: Any) -> None:
    async with client(node) as http:
        descriptor = (await http.get("/.well-known/ogp-node")).json()
    assert descriptor["cut"] == "13122"
    assert descriptor["name"] == "Peñalolén"
    assert descriptor["feed_url"] == "http://testserver.local/feed/v1/plan.json"
    assert descriptor["jwks_url"].endswith("/feed/v1/jwks.json")
    assert "{sequence}" in descriptor["changes_url_template"]
    assert descriptor["software"].startswith("ogp-federation")


async def test_writes_need_a_token_and_the_editor_role(node: Any) -> None:
    organization = {"id": "nueva", "name": "Nueva unidad", "classification": "municipal_unit"}
    async with client(node) as http:
        assert (await http.post("/admin/api/organizations", json=organization)).status_code == 401
        assert (
            await http.post("/admin/api/organizations", json=organization, headers=bearer("ogpn_falso"))
        ).status_code == 401
        token = await staff_token(node)
        created = await http.post("/admin/api/organizations", json=organization, headers=bearer(token))
        login = await http.post("/admin/api/login", json={"username": "editora", "password": PASSWORD})
        wrong = await http.post("/admin/api/login", json={"username": "editora", "password": "no-es-la-clave"})
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    assert login.status_code == 201
    assert login.json()["token"].startswith("ogpn_")
    assert wrong.status_code == 401


async def test_only_admins_create_staff(node: Any) -> None:
    editor = await staff_token(node)
    admin = await staff_token(node, "jefa", "admin")
    account = {"username": "nuevo", "password": "otra-clave-bastante-larga", "role": "editor"}
    async with client(node) as http:
        refused = await http.post("/admin/api/users", json=account, headers=bearer(editor))
        created = await http.post("/admin/api/users", json=account, headers=bearer(admin))
        again = await http.post("/admin/api/users", json=account, headers=bearer(admin))
        short = await http.post(
            "/admin/api/users", json=account | {"username": "x", "password": "corta"}, headers=bearer(admin)
        )
    assert (refused.status_code, created.status_code, again.status_code, short.status_code) == (403, 201, 409, 422)


async def test_staff_names_and_token_names_are_checked_before_the_database(node: Any) -> None:
    admin = await staff_token(node, "jefa", "admin")
    password = "otra-clave-bastante-larga"
    async with client(node) as http:
        names = {
            name: await http.post(
                "/admin/api/users", json={"username": name, "password": password}, headers=bearer(admin)
            )
            for name in ("", "a" * 65, "ana\u0000", "ana perez", "ana\u200b", "-ana")
        }
        good = await http.post(
            "/admin/api/users", json={"username": "ana.perez", "password": password}, headers=bearer(admin)
        )
        login_nul = await http.post("/admin/api/login", json={"username": "ana\u0000", "password": password})
        long_token = await http.post(
            "/admin/api/login", json={"username": "ana.perez", "password": password, "token_name": "t" * 101}
        )
        login = await http.post("/admin/api/login", json={"username": "ana.perez", "password": password})
        # Regression: " ana\n" made a second account that looked like "ana". Names are normalised now.
        spaced = await http.post(
            "/admin/api/users", json={"username": " Ana\n", "password": password}, headers=bearer(admin)
        )
        look_alike = await http.post(
            "/admin/api/users", json={"username": "ana", "password": password}, headers=bearer(admin)
        )
        fullwidth = await http.post(
            "/admin/api/users", json={"username": "\uff41na", "password": password}, headers=bearer(admin)
        )
        login_as_written = await http.post("/admin/api/login", json={"username": "ANA ", "password": password})
    assert (spaced.status_code, spaced.json()["username"]) == (201, "ana")
    assert look_alike.status_code == 409
    assert fullwidth.status_code == 409  # NFKC: a full-width "ａ" is an "a"
    assert login_as_written.status_code in (200, 201)
    for name, answer in names.items():
        assert answer.status_code == 422, name
        assert answer.json()["errors"][0]["path"] == "username", name
    assert good.status_code == 201
    assert login_nul.status_code == 401
    assert (long_token.status_code, long_token.json()["errors"][0]["path"]) == (422, "token_name")
    assert login.status_code in (200, 201)


async def test_lost_updates_are_refused(node: Any) -> None:
    token = await staff_token(node)
    async with client(node) as http:
        current = await http.get("/admin/api/organizations/dcga", headers=bearer(token))
        etag = current.headers["ETag"]
        first = current.json() | {"name": "Dirección de Control"}
        second = current.json() | {"name": "Dirección de Gobierno Abierto"}
        no_precondition = await http.put("/admin/api/organizations/dcga", json=first, headers=bearer(token))
        ok = await http.put("/admin/api/organizations/dcga", json=first, headers=bearer(token, **{"If-Match": etag}))
        stale = await http.put(
            "/admin/api/organizations/dcga", json=second, headers=bearer(token, **{"If-Match": etag})
        )
        final = (await http.get("/admin/api/organizations/dcga", headers=bearer(token))).json()
    assert no_precondition.status_code == 428
    assert ok.status_code == 200
    assert stale.status_code == 412
    assert final["name"] == "Dirección de Control"


async def test_invalid_writes_name_every_field_and_change_nothing(node: Any) -> None:
    token = await staff_token(node)
    async with client(node) as http:
        before = await http.get("/feed/v1/plan.json")
        bad = {
            "id": "c9-h1",
            "commitment_id": "verde",
            "title": "",
            "due": "2026-02-30",
            "status": "listo",
            "progress": 120,
            "extra": 1,
        }
        response = await http.post("/admin/api/milestones", json=bad, headers=bearer(token))
        dangling = {
            "id": "x-h1",
            "commitment_id": "no-existe",
            "title": "Hito",
            "due": "2026-02-01",
            "status": "not_started",
            "progress": 0,
        }
        refused = await http.post("/admin/api/milestones", json=dangling, headers=bearer(token))
        malformed = await http.post(
            "/admin/api/milestones", content=b"{not json", headers=bearer(token, **{"Content-Type": "application/json"})
        )
        duplicate = await http.post(
            "/admin/api/organizations",
            json={"id": "dcga", "name": "Otra", "classification": "other"},
            headers=bearer(token),
        )
        nul = await http.post(
            "/admin/api/organizations",
            json={"id": "nula", "name": "Oficina\u0000 nula", "classification": "other"},
            headers=bearer(token),
        )
        after = await http.get("/feed/v1/plan.json")
    assert nul.status_code == 422, nul.text  # not a database error: PostgreSQL cannot store U+0000
    ((rule, path),) = [(e["rule"], e["path"]) for e in nul.json()["errors"]]
    assert (rule, path.startswith("$.organizations["), path.endswith("].name")) == ("text.nul", True, True)
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert {e["path"] for e in problem["errors"]} == {"$.title", "$.due", "$.status", "$.progress", "$.extra"}
    assert refused.status_code == 422
    assert refused.json()["code"] == "feed.invalid"
    assert [e["rule"] for e in refused.json()["errors"]] == ["ref.commitment"]
    assert malformed.status_code == 400
    assert duplicate.status_code == 409
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.content == before.content


async def test_evidence_upload_is_checked_stored_by_hash_and_served(tmp_path: Path, database_url: str) -> None:
    settings = await make_node(tmp_path, database_url)
    settings = msgspec.structs.replace(settings, max_upload_bytes=50_000)
    token = await staff_token(settings)
    pdf = b"%PDF-1.7\n" + b"0" * 1000
    async with client(settings) as http:
        uploaded = await http.post("/admin/api/evidence", files={"data": ("acta.pdf", pdf)}, headers=bearer(token))
        served = await http.get(uploaded.json()["url"].removeprefix("http://testserver.local"))
        html = await http.post("/admin/api/evidence", files={"data": ("x.html", b"<script>")}, headers=bearer(token))
        fake = await http.post("/admin/api/evidence", files={"data": ("x.pdf", b"<html>")}, headers=bearer(token))
        big = await http.post(
            "/admin/api/evidence", files={"data": ("b.pdf", b"%PDF-" + b"0" * 60_000)}, headers=bearer(token)
        )
        anonymous = await http.post("/admin/api/evidence", files={"data": ("acta.pdf", pdf)})
        hostile_name = 'acta\x00"; x=1\r\nSet-Cookie: a=b.pdf'
        odd = await http.post("/admin/api/evidence", files={"data": (hostile_name, pdf + b"1")}, headers=bearer(token))
        odd_served = await http.get(odd.json()["url"].removeprefix("http://testserver.local"))
    assert odd.status_code == 201, odd.text
    assert odd_served.status_code == 200
    assert "set-cookie" not in odd_served.headers
    assert "\x00" not in odd_served.headers["content-disposition"]
    assert uploaded.status_code == 201
    body = uploaded.json()
    assert body["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert served.content == pdf
    assert served.headers["Content-Type"] == "application/pdf"
    assert "immutable" in served.headers["Cache-Control"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert (html.status_code, fake.status_code, big.status_code, anonymous.status_code) == (415, 415, 413, 401)


async def test_openapi_documents_the_admin_api(node: Any) -> None:
    async with client(node) as http:
        schema = (await http.get("/schema/openapi.json")).json()
    assert "/admin/api/milestones/{key}" in schema["paths"]
    assert "/feed/v1/changes" in schema["paths"]


def test_settings_are_all_documented() -> None:
    for struct in (NodeSettings, PublisherSettings):
        schema = msgspec.json.schema(struct)
        properties = schema["$defs"][struct.__name__]["properties"]
        assert all(spec.get("description") for spec in properties.values()), struct


async def test_schema_is_served(node: Any) -> None:
    async with client(node) as http:
        schema = await http.get("/feed/v1/schema.json")
    assert json.loads(schema.content)["title"] == f"Plan Feed {SPEC_VERSION}"


async def test_nodes_served_by_one_process_never_show_each_others_pages(tmp_path: Path, database_url: str) -> None:
    """Regression: the rendered-page cache was process-wide and keyed by sequence only (demo: three nodes)."""
    penalolen = await make_node(tmp_path / "a", database_url, cut="13122")
    await load_fixture(penalolen, "penalolen.json")
    maipu = await make_node(tmp_path / "b", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", cut="13119")  # its own
    await load_fixture(maipu, "maipu.json")
    penalolen_feed = msgspec.json.decode((FEEDS / "penalolen.json").read_bytes())
    maipu_feed = msgspec.json.decode((FEEDS / "maipu.json").read_bytes())
    async with client(penalolen) as first, client(maipu) as second:
        for _ in range(2):  # each node's pages rendered first by one, then read by the other
            plan_a, plan_b = (await first.get("/")).text, (await second.get("/")).text
            own_b = await second.get(f"/plan/{maipu_feed['commitments'][0]['id']}")
            foreign = await second.get(f"/plan/{penalolen_feed['commitments'][0]['id']}")
            own_a = await first.get(f"/plan/{penalolen_feed['commitments'][0]['id']}")
            assert "Peñalolén" in plan_a
            assert "Maipú" not in plan_a
            assert "Maipú" in plan_b
            assert "Peñalolén" not in plan_b
            assert own_b.status_code == 200
            assert maipu_feed["commitments"][0]["title"] in own_b.text
            assert own_a.status_code == 200
            assert penalolen_feed["commitments"][0]["title"] in own_a.text
            if penalolen_feed["commitments"][0]["id"] not in {c["id"] for c in maipu_feed["commitments"]}:
                assert foreign.status_code == 404


UPLOADS = ("/admin/api/import", "/admin/api/evidence")
BAD_UPLOADS: dict[str, dict[str, Any]] = {
    "plain_field_named_like_the_file": {"files": {"data": (None, "not a file")}},
    "file_under_another_name": {"files": {"other": ("plan.xlsx", b"PK")}},
    "no_part_at_all": {"files": {"x": (None, "")}},
    "json_body": {"json": {"data": "x"}},
    "urlencoded": {"data": {"data": "x"}},
    "broken_multipart": {
        "content": b'--b\r\nContent-Disposition: form-data; name="data"\r\n\r\nunterminated',
        "headers": {"Content-Type": "multipart/form-data; boundary=b"},
    },
}


@pytest.mark.parametrize("path", UPLOADS)
@pytest.mark.parametrize("case", list(BAD_UPLOADS))
async def test_malformed_uploads_are_4xx_problems_after_authentication(
    tmp_path: Path, path: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: a multipart part that was not a file answered 500, before authentication."""
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    token = await staff_token(settings)
    request = BAD_UPLOADS[case]
    async with client(settings) as http:
        anonymous = await http.post(path, **request)
        extra = dict(request.get("headers", {}))
        authenticated = await http.post(path, **{**request, "headers": {**extra, **bearer(token)}})
    assert anonymous.status_code == 401, anonymous.text
    assert 400 <= authenticated.status_code < 500, authenticated.text
    assert authenticated.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("name", "Oficina\u000b de partes", "text.control"),  # vertical tab, pasted from a PDF
        ("name", "Oficina\u001b[31m roja", "text.control"),  # an escape sequence
        ("id", "oficina\n", "schema.constraint"),  # an id with a final newline (Python's $ let it through)
        ("id", "ofi\tcina", "schema.constraint"),
    ],
)
async def test_control_characters_are_refused_with_their_rule(node: Any, field: str, value: str, rule: str) -> None:
    settings = node
    token = await staff_token(settings)
    record = {"id": "oficina", "name": "Oficina", "classification": "other", field: value}
    async with client(settings) as http:
        refused = await http.post("/admin/api/organizations", json=record, headers=bearer(token))
        export = await http.get("/admin/api/export", headers=bearer(token))
    assert refused.status_code == 422, refused.text
    assert rule in {e["rule"] for e in refused.json()["errors"]}
    assert any(e["path"].endswith(f".{field}") for e in refused.json()["errors"])
    assert export.status_code == 200


def test_the_xlsx_export_survives_control_characters_stored_before_they_were_refused() -> None:
    records = fixture_records()
    records[next(iter(records))][0]["name"] = "Oficina\u000b antigua"
    book = load_workbook(io.BytesIO(write_xlsx(records_to_tables(records))))
    assert book["organizaciones"]["B2"].value == "Oficina\ufffd antigua"


async def test_the_node_has_health_and_readiness_probes(tmp_path: Path) -> None:
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    async with client(settings) as http:
        health = await http.get("/health")
        ready = await http.get("/ready")
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200  # node init publishes a first, empty plan
    assert ready.json() == {"status": "ready"}


async def test_the_node_is_not_ready_without_its_tables(tmp_path: Path) -> None:
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    unmigrated = msgspec.structs.replace(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    runtime = NodeRuntime(unmigrated)
    try:
        with pytest.raises(DatabaseUnavailableError):
            await runtime.check_ready()
    finally:
        await runtime.db.close()


def test_the_citizen_page_marks_overdue_milestones_and_says_what_progress_means() -> None:
    from datetime import date  # noqa: PLC0415

    from ogp_federation.node.citizen import render_commitment, render_plan  # noqa: PLC0415

    feed = decode((FEEDS / "penalolen.json").read_bytes())
    open_ones = [m for m in feed.milestones if m.status.value not in ("completed", "cancelled")]
    assert open_ones, "the fixture has milestones still open"
    latest_due = max(m.due for m in feed.milestones)
    before_all = render_plan(feed, today=min(m.due for m in feed.milestones))
    after_all = date(latest_due.year + 1, 1, 1)
    late_plan = render_plan(feed, today=after_all)
    commitment = open_ones[0].commitment_id
    late_page = render_commitment(feed, commitment, today=after_all)
    assert late_page is not None
    assert "Vencido" not in before_all
    assert late_page.count("Vencido: su plazo pasó sin cumplirse") == sum(
        1 for m in open_ones if m.commitment_id == commitment
    )
    assert "Avance informado por la municipalidad" in late_plan
    assert "hitos vencidos" in late_plan or "1 hito vencido" in late_plan
    assert "1 hitos" not in late_plan  # plurals agree


@pytest.mark.parametrize("path", UPLOADS)
async def test_a_binary_part_without_a_file_name_is_a_400(tmp_path: Path, path: str) -> None:
    """Found by the OpenAPI fuzzer: a part with binary content and no file name answered 500."""
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    token = await staff_token(settings)
    body = b'--b\r\nContent-Disposition: form-data; name="data"\r\n\r\n\x89PNG\r\n\x1a\n\x00\xff\xfe\r\n--b--\r\n'
    async with client(settings) as http:
        answer = await http.post(
            path, content=body, headers=bearer(token, **{"Content-Type": "multipart/form-data; boundary=b"})
        )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
