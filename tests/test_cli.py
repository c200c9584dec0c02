"""The ogp-federation command line: exit codes 0/1/2, JSON output, keys, signing, URLs on loopback."""

from __future__ import annotations

import functools
import json
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FEEDS, ROOT
from ogp_federation.cli import cli


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def feeds_url() -> Iterator[str]:
    """The fixture feeds served over real HTTP on 127.0.0.1 (a random free port)."""
    handler = functools.partial(_QuietHandler, directory=str(FEEDS))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_validate_valid_feed_as_json_exits_0() -> None:
    code, out, _ = run("feed", "validate", str(FEEDS / "penalolen.json"), "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert data["valid"] is True
    assert data["ruleset_version"]
    assert isinstance(data["findings"], list)


def test_validate_invalid_feed_exits_1_and_lists_the_rule_with_its_path() -> None:
    code, out, _ = run("feed", "validate", str(FEEDS / "invalid" / "ref.event.json"), "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data["valid"] is False
    assert [(f["rule"], f["path"]) for f in data["findings"]] == [("ref.event", "$.inputs[0].event_id")]
    assert data["findings"][0]["message"]


def test_validate_text_output_in_both_languages() -> None:
    path = str(FEEDS / "invalid" / "ref.event.json")
    code_es, out_es, _ = run("feed", "validate", path)
    code_en, out_en, _ = run("feed", "validate", path, "--lang", "en")
    assert (code_es, code_en) == (1, 1)
    assert "INVÁLIDO" in out_es
    assert "no es un evento de participación" in out_es
    assert "INVALID" in out_en
    assert "is not a participation event" in out_en


def test_validate_with_previous_checks_continuity() -> None:
    base = FEEDS / "invalid" / "continuity.record_vanished"
    code, out, _ = run("feed", "validate", f"{base}.json", "--previous", f"{base}.previous.json", "--format", "json")
    assert code == 1
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"continuity.record_vanished"}


@pytest.mark.parametrize(
    "args",
    [
        ("feed", "validate", "does/not/exist.json"),
        ("feed", "validate", str(FEEDS / "penalolen.json"), "--format", "xml"),
        ("feed", "validate", str(FEEDS / "penalolen.json"), "--previous", "missing.json"),
        ("feed", "verify", str(FEEDS / "penalolen.json"), "--signature", "missing.sig", "--jwks", "missing.json"),
        ("feed", "validate"),
    ],
)
def test_usage_and_io_errors_exit_2(args: tuple[str, ...]) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert err.strip()


def test_validate_reads_http_urls(feeds_url: str) -> None:
    code, out, _ = run("feed", "validate", f"{feeds_url}/penalolen.json", "--format", "json")
    assert code == 0
    assert json.loads(out)["cut"] == "13122"


def test_validate_http_404_is_an_io_error(feeds_url: str) -> None:
    code, _, err = run("feed", "validate", f"{feeds_url}/nope.json")
    assert code == 2
    assert "404" in err


def test_keys_sign_verify_round_trip_with_rotation(tmp_path: Path, feeds_url: str) -> None:
    feed = tmp_path / "plan.json"
    shutil.copy(FEEDS / "maipu.json", feed)
    key1, key2, jwks = tmp_path / "k1.json", tmp_path / "k2.json", tmp_path / "jwks.json"
    assert run("keys", "generate", "--key", str(key1), "--jwks", str(jwks))[0] == 0
    assert stat.S_IMODE(key1.stat().st_mode) == 0o600
    assert run("feed", "sign", str(feed), "--key", str(key1))[0] == 0
    signature = tmp_path / "plan.json.sig"
    code, out, _ = run("feed", "verify", str(feed), "--signature", str(signature), "--jwks", str(jwks))
    assert code == 0
    assert "kid" in out
    # Rotation: a second key joins the same JWKS; signatures by both keys verify.
    assert run("keys", "generate", "--key", str(key2), "--jwks", str(jwks))[0] == 0
    assert len(json.loads(jwks.read_text())["keys"]) == 2
    assert run("feed", "sign", str(feed), "--key", str(key2), "--out", str(tmp_path / "new.sig"))[0] == 0
    for sig in (signature, tmp_path / "new.sig"):
        assert run("feed", "verify", str(feed), "--signature", str(sig), "--jwks", str(jwks))[0] == 0
    # Any change to the feed: exit 1.
    feed.write_bytes(feed.read_bytes().replace(b"Maip", b"Maiq", 1))
    code, _, err = run("feed", "verify", str(feed), "--signature", str(signature), "--jwks", str(jwks))
    assert code == 1
    assert "signature.mismatch" in err


def test_verify_accepts_urls(tmp_path: Path, feeds_url: str) -> None:
    key, jwks = tmp_path / "k.json", tmp_path / "jwks.json"
    run("keys", "generate", "--key", str(key), "--jwks", str(jwks))
    signature = tmp_path / "renca.sig"
    run("feed", "sign", str(FEEDS / "renca.json"), "--key", str(key), "--out", str(signature))
    code, _, _ = run("feed", "verify", f"{feeds_url}/renca.json", "--signature", str(signature), "--jwks", str(jwks))
    assert code == 0
    code, _, _ = run("feed", "verify", f"{feeds_url}/maipu.json", "--signature", str(signature), "--jwks", str(jwks))
    assert code == 1


def test_keys_generate_refuses_to_overwrite_a_private_key(tmp_path: Path) -> None:
    key, jwks = tmp_path / "k.json", tmp_path / "jwks.json"
    assert run("keys", "generate", "--key", str(key), "--jwks", str(jwks))[0] == 0
    before = key.read_bytes()
    code, _, err = run("keys", "generate", "--key", str(key), "--jwks", str(jwks))
    assert code != 0
    assert "--force" in err
    assert key.read_bytes() == before


def test_sign_with_a_public_key_file_is_refused(tmp_path: Path) -> None:
    key, jwks = tmp_path / "k.json", tmp_path / "jwks.json"
    run("keys", "generate", "--key", str(key), "--jwks", str(jwks))
    public = tmp_path / "public.json"
    public.write_text(json.dumps(json.loads(jwks.read_text())["keys"][0]))
    code, _, err = run("feed", "sign", str(FEEDS / "renca.json"), "--key", str(public))
    assert code == 2
    assert "Ed25519" in err


def test_generate_is_deterministic_and_valid(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert run("feed", "generate", "--cut", "05101", "--commitments", "3", "--seed", "4", "--out", str(first))[0] == 0
    assert run("feed", "generate", "--cut", "05101", "--commitments", "3", "--seed", "4", "--out", str(second))[0] == 0
    assert first.read_bytes() == second.read_bytes()
    assert run("feed", "validate", str(first))[0] == 0
    code, _, err = run("feed", "generate", "--cut", "00000")
    assert code == 2
    assert "00000" in err


def test_feed_demo_runs_on_the_fixture_feeds() -> None:
    result = CliRunner().invoke(cli, ["feed", "demo", "--feeds", str(FEEDS)])
    assert result.exit_code == 0, result.output
    assert result.output.count("[ok]") == 15
    assert "FALLA" not in result.output


def test_console_script_is_installed() -> None:
    executable = Path(sys.executable).with_name("ogp-federation")
    completed = subprocess.run(
        [str(executable), "feed", "validate", str(FEEDS / "renca.json"), "--format", "json"],
        capture_output=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["valid"] is True


def test_feed_demo_finds_the_fixtures_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    found = run("feed", "demo")
    missing = run("feed", "demo", "--feeds", str(tmp_path))
    assert found[0] == 0
    assert "Todo en orden" in found[1]
    assert missing[0] == 2
    assert "--feeds" in missing[2]
