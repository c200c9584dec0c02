"""The citizen page in a real browser (Debian's headless Chromium): content, escaping, no JavaScript."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from node_helpers import fixture_records, make_node
from ogp_federation.feed import Entity
from ogp_federation.node.records import ReplaceAll
from ogp_federation.node.runtime import NodeRuntime
from test_node_federation import CLI, free_port, process

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='img'\"> Más Verde"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is needed for page tests: apt-get install chromium (done by .ci/run)", pytrace=False)
    return path


def dump_dom(url: str, profile: Path, accept_language: str = "es-CL,es") -> str:
    """The page's DOM after Chromium ran it, asked for in ``accept_language`` (Chromium's own default is en-US)."""
    completed = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--accept-lang={accept_language}",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return completed.stdout


@pytest.fixture
async def served_node(tmp_path: Path) -> str:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}", public_url=base)
    records = fixture_records()
    records[Entity.COMMITMENTS][0]["title"] = HOSTILE
    records[Entity.INPUTS][0]["summary"] = "<b onmouseover=alert(1)>negrita</b>"
    runtime = NodeRuntime(settings)
    await runtime.change([ReplaceAll(records)], author="test")
    await runtime.db.close()
    return base


async def test_page_renders_the_plan_and_escapes_everything_the_node_stores(served_node: str, tmp_path: Path) -> None:
    base = served_node
    port = base.rsplit(":", 1)[1]
    with process(CLI, "node", "serve", "--config", str(tmp_path / "node.toml"), "--port", port, ready_url=f"{base}/"):
        response = httpx.get(f"{base}/")
        dom = dump_dom(f"{base}/", tmp_path / "profile")
        commitment_dom = dump_dom(f"{base}/plan/verde/", tmp_path / "profile2")
        commitment_html = httpx.get(f"{base}/plan/verde/").text
        english_dom = dump_dom(f"{base}/", tmp_path / "profile3", accept_language="en-US,en")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<title>Gobierno Abierto — Peñalolén</title>" in dom  # no injected script ran
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom  # shown as text
    assert '<img src="x"' not in dom
    assert "&lt;b onmouseover=alert(1)&gt;negrita&lt;/b&gt;" in dom
    assert 'lang="es-CL"' in dom
    assert dom.count("<progress") == 3
    assert "Qué hicimos con tus aportes".lower() in dom.lower()
    assert "<svg" in dom
    assert 'lang="en"' in english_dom
    assert "Skip to content" in english_dom
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in english_dom
    assert "<polyline" in dom
    assert "Hitos" in commitment_dom
    assert "Decreto alcaldicio que aprueba el plan" in commitment_dom
    # Works without JavaScript: the server sends none (inline or linked), the CSP would block any.
    assert "<script" not in commitment_html
    assert "<script" not in response.text


async def test_unknown_commitment_page_is_404(served_node: str, tmp_path: Path) -> None:
    base = served_node
    with process(
        CLI,
        "node",
        "serve",
        "--config",
        str(tmp_path / "node.toml"),
        "--port",
        base.rsplit(":", 1)[1],
        ready_url=f"{base}/",
    ):
        missing = httpx.get(f"{base}/plan/no-existe/")
        stylesheet = httpx.get(f"{base}/static/site.css")
    assert missing.status_code == 404
    assert stylesheet.status_code == 200
    assert stylesheet.headers["Content-Type"].startswith("text/css")
