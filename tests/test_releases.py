"""Bulk releases: reproducible files, a valid data package, Parquet that DuckDB and pyarrow read, a signed
manifest that fails on any changed byte, and files served with ETag and byte ranges."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import msgspec
import pyarrow.parquet as pq
import pytest
from frictionless import validate
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from agg_helpers import FIXTURE_COMMUNES, aggregator, fake_nodes, harvest_fixtures
from ogp_federation.aggregator.app import create_app
from ogp_federation.aggregator.research import ReleaseService
from ogp_federation.core.errors import InvalidInputError, NotFoundError

COMMUNES = FIXTURE_COMMUNES


async def _federation(runtime: Any, server: Any) -> None:
    await harvest_fixtures(runtime, server, COMMUNES)
    await runtime.quality.compute()


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


async def test_a_release_is_reproducible_valid_readable_and_signed(database_url: str, tmp_path: Path) -> None:
    async with fake_nodes() as server, aggregator(database_url, releases_dir=str(tmp_path / "one")) as runtime:
        await _federation(runtime, server)
        cutoff = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        await asyncio.sleep(max(0.0, (cutoff - datetime.now(UTC)).total_seconds()) + 0.05)  # a past moment
        view = await runtime.releases.build(cutoff)
        again = ReleaseService(runtime.db, runtime.settings, runtime.research.keys)
        again.folder = tmp_path / "two"
        twice = await again.build(cutoff)
        jwks = await runtime.research.jwks()
        counts: dict[str, int] = {}
        for entity in ("commitments", "milestones", "methodologies", "indicators"):
            for cut in COMMUNES:
                page = await runtime.history.records(cut, entity, as_of=cutoff, limit=5000)
                counts[entity] = counts.get(entity, 0) + len(page.items)
    one, two = tmp_path / "one" / view.id, tmp_path / "two" / twice.id
    assert _files(one) == _files(two)  # byte for byte
    manifest_bytes = (one / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    signature = (one / "manifest.json.sig").read_text()
    keys = KeySet.import_key_set(jwks)
    jws.deserialize_compact(signature, keys, algorithms=["Ed25519"], payload=manifest_bytes)
    with pytest.raises(JoseError):
        jws.deserialize_compact(signature, keys, algorithms=["Ed25519"], payload=manifest_bytes.replace(b'"', b"'", 1))
    for item in manifest["files"]:
        assert hashlib.sha256((one / item["path"]).read_bytes()).hexdigest() == item["sha256"], item["path"]
    report = validate(str(one / "datapackage.json"))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])[:10]
    for table, rows in manifest["rows"].items():
        parquet = one / "data" / f"{table}.parquet"
        assert pq.read_table(parquet).num_rows == rows, table
        with duckdb.connect() as connection:
            counted = connection.execute("SELECT count(*) FROM read_parquet(?)", [str(parquet)]).fetchone()
        assert counted == (rows,), table
        lines = (one / "data" / f"{table}.jsonl").read_bytes().splitlines()
        assert len(lines) == rows, table
    for entity, count in counts.items():
        assert manifest["rows"][entity] == count, entity  # the same records the API gives as of the cut-off
    assert manifest["rows"]["registry"] == 346
    assert manifest["rows"]["indicator_values"] > 0
    assert manifest["rows"]["quality_scores"] == 3
    citation = (one / "CITATION.cff").read_text()
    assert f'version: "{view.id}"' in citation


async def test_releases_are_listed_and_served_with_etags_and_ranges(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    async with fake_nodes() as server, aggregator(url, releases_dir=str(tmp_path / "r")) as runtime:
        await _federation(runtime, server)
        view = await runtime.releases.build()
        written = (tmp_path / "r" / view.id / "manifest.json").stat().st_mtime_ns
        same = await runtime.releases.build(datetime.fromisoformat(view.cutoff.replace("Z", "+00:00")))
        app = create_app(runtime.settings, runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            index = await http.get("/api/v1/releases")
            path = f"/releases/{view.id}/data/commitments.csv"
            whole = await http.get(path, headers={"Accept-Encoding": "gzip"})
            etag = whole.headers["etag"]
            unchanged = await http.get(path, headers={"If-None-Match": etag})
            first = await http.get(path, headers={"Range": "bytes=0-9"})
            tail = await http.get(path, headers={"Range": "bytes=-5"})
            beyond = await http.get(path, headers={"Range": "bytes=99999999-"})
            stale = await http.get(path, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
            manifest = await http.get(f"/releases/{view.id}/manifest.json")
            unlisted = await http.get(f"/releases/{view.id}/../../a.db")
            hidden = await http.get(f"/releases/{view.id}/data/nothing.csv")
            unknown = await http.get("/releases/ogp-1999-01/manifest.json")
            hostile = await http.get("/releases/..%2F..%2Fetc/passwd")
    assert same.id == view.id
    assert (tmp_path / "r" / view.id / "manifest.json").stat().st_mtime_ns == written  # kept, not rebuilt
    assert [item["id"] for item in index.json()] == [view.id]
    assert whole.status_code == 200
    assert "content-encoding" not in whole.headers  # served as stored: ranges are of these bytes
    assert etag == '"' + hashlib.sha256(whole.content).hexdigest() + '"'
    assert whole.headers["accept-ranges"] == "bytes"
    assert unchanged.status_code == 304
    assert first.status_code == 206
    assert first.content == whole.content[:10]
    assert first.headers["content-range"] == f"bytes 0-9/{len(whole.content)}"
    assert tail.content == whole.content[-5:]
    assert beyond.status_code == 416
    assert stale.status_code == 200  # If-Range of another version: the whole file
    assert manifest.json()["release"] == view.id
    for refused in (unlisted, hidden, unknown, hostile):
        assert refused.status_code == 404, refused.request.url


async def test_a_cutoff_in_the_future_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    async with aggregator(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", releases_dir=str(tmp_path / "r")) as runtime:
        with pytest.raises(InvalidInputError) as future:
            await runtime.releases.build(datetime.now(UTC) + timedelta(days=1))
        with pytest.raises(NotFoundError):
            runtime.releases.file("ogp-2026-01", "manifest.json")
        listed = runtime.releases.releases()
    assert future.value.errors[0]["path"] == "cutoff"
    assert listed == []
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_operators_build_and_list_releases_from_the_command_line(tmp_path: Path) -> None:
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    from test_node_federation import CLI  # noqa: PLC0415

    env = {
        **os.environ,
        "OGP_AGG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
        "OGP_AGG_RELEASES_DIR": str(tmp_path / "r"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "aggregator", *args], capture_output=True, text=True, env=env, timeout=300, check=False
        )

    assert run("db", "upgrade").returncode == 0
    built = run("release", "build", "--cutoff", "2026-11-01T00:00:00-03:00")
    listed = run("release", "list")
    monthly = run("release", "build", "--monthly")
    future = run("release", "build", "--cutoff", "2099-01-01T00:00:00Z")
    assert built.returncode == 0, built.stderr
    assert "publicación ogp-20261101T030000Z" in built.stdout
    assert "registry" in built.stdout
    assert "ogp-20261101T030000Z" in listed.stdout
    assert monthly.returncode == 0, monthly.stderr
    assert future.returncode == 2
    assert "cutoff" in future.stderr
    assert msgspec.json.decode((tmp_path / "r" / "ogp-20261101T030000Z" / "manifest.json").read_bytes())["rows"]


def _guide_block(after: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "docs" / "investigadores.md").read_text(encoding="utf-8")
    return text.split(after, 1)[1].split("```python\n", 1)[1].split("```", 1)[0]


async def test_the_guides_release_examples_run_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    async with fake_nodes() as server, aggregator(url, releases_dir=str(tmp_path / "r")) as runtime:
        await _federation(runtime, server)
        view = await runtime.releases.build()
        jwks = await runtime.research.jwks()
    folder = tmp_path / "r" / view.id
    query = _guide_block("Son públicas, no cambian nunca").replace("ogp-2026-12/", f"{folder}/")
    check = _guide_block("Comprobar una publicación sin confiar")
    exec(query, {})  # noqa: S102 (the guide's own code)
    exec(check, {"RELEASE_FOLDER": str(folder), "JWKS": jwks})  # noqa: S102
    printed = capsys.readouterr().out
    assert "compromisos" in printed
    assert "publicación íntegra y firmada" in printed
    (folder / "data" / "registry.csv").write_bytes((folder / "data" / "registry.csv").read_bytes() + b"\n")
    with pytest.raises(AssertionError, match=r"registry\.csv"):
        exec(check, {"RELEASE_FOLDER": str(folder), "JWKS": jwks})  # noqa: S102
