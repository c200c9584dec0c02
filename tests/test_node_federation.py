"""Real processes on 127.0.0.1: a served node, its static export behind http.server, and push notices.

These tests start ``ogp-federation`` the way an operator does (subprocesses, real HTTP) and check the
results with the CLI the aggregator side and universities use. Every server binds to loopback only,
and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from node_helpers import PASSWORD, make_node
from ogp_federation.feed import decode, signing
from ogp_federation.feed.protocol import PUSH_NOTICE_TYPE
from test_node_spreadsheet import penalolen_workbook

CLI = str(Path(sys.executable).with_name("ogp-federation"))
WAIT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(
    *args: str, config: Path | None = None, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"OGP_NODE_CONFIG": str(config)} if config else {})}
    completed = subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False, input=stdin
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"{args}: exit {completed.returncode}\n{completed.stdout}\n{completed.stderr}")
    return completed


@contextmanager
def process(*args: str, ready_url: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the test ends; wait (bounded) until ``ready_url`` answers."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally) — not a pipe: a chatty server must never block on a full pipe
    proc = subprocess.Popen(list(args), env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                if httpx.get(ready_url, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise AssertionError(f"{args[:3]} did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
async def node_dir(tmp_path: Path, database_url: str) -> tuple[Path, int]:
    """A node initialised by the CLI and filled by importing the Peñalolén workbook through the CLI."""
    port = free_port()
    config = tmp_path / "node.toml"
    cli(
        "node",
        "init",
        "--cut",
        "13122",
        "--data-dir",
        str(tmp_path / "data"),
        "--public-url",
        f"http://127.0.0.1:{port}",
        "--database-url",
        database_url,
        "--contact-email",
        "ga@penalolen.cl",
        config=config,
    )
    workbook = tmp_path / "penalolen.xlsx"
    workbook.write_bytes(penalolen_workbook())
    imported = cli("node", "import", str(workbook), config=config)
    assert "importados" in imported.stdout
    return tmp_path, port


def _validate_and_verify(base: str) -> dict[str, Any]:
    report = json.loads(cli("feed", "validate", f"{base}/feed/v1/plan.json", "--format", "json").stdout)
    assert report["valid"] is True
    verified = cli(
        "feed",
        "verify",
        f"{base}/feed/v1/plan.json",
        "--signature",
        f"{base}/feed/v1/plan.json.sig",
        "--jwks",
        f"{base}/feed/v1/jwks.json",
    )
    assert "kid" in verified.stdout
    return report


async def test_served_node_feed_validates_and_verifies_with_the_cli(node_dir: tuple[Path, int]) -> None:
    folder, port = node_dir
    base = f"http://127.0.0.1:{port}"
    with process(
        CLI,
        "node",
        "serve",
        "--config",
        str(folder / "node.toml"),
        "--port",
        str(port),
        ready_url=f"{base}/.well-known/ogp-node",
    ):
        report = _validate_and_verify(base)
        first = httpx.get(f"{base}/feed/v1/plan.json")
        again = httpx.get(f"{base}/feed/v1/plan.json", headers={"If-None-Match": first.headers["etag"]})
        page = httpx.get(f"{base}/")
    assert report["cut"] == "13122"
    assert again.status_code == 304
    assert page.status_code == 200
    assert "Peñalolén Más Verde" in page.text


async def test_static_export_served_by_http_server_validates_and_verifies(node_dir: tuple[Path, int]) -> None:
    folder, _ = node_dir
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    site = folder / "site"
    cli("node", "export-static", "--out", str(site), "--base-url", base, config=folder / "node.toml")
    with process(
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(site),
        ready_url=f"{base}/.well-known/ogp-node",
    ):
        report = _validate_and_verify(base)
        descriptor = httpx.get(f"{base}/.well-known/ogp-node").json()
        jwks = signing.load_jwks(httpx.get(descriptor["jwks_url"]).content)
        since = report["sequence"] - 1
        page_url = descriptor["changes_url_template"].format(sequence=since)
        page = httpx.get(page_url)
        page_signature = httpx.get(page_url + ".sig").text
        index = httpx.get(f"{base}/")
        commitment = httpx.get(f"{base}/plan/verde/")
    assert descriptor["static"] is True
    assert signing.verify(page.content, page_signature, jwks).kid
    assert page.json()["until"] == report["sequence"]
    assert "Peñalolén" in index.text
    assert "Hitos" in commitment.text


class _Receiver(BaseHTTPRequestHandler):
    """A stand-in aggregator push endpoint: fails twice, then accepts; remembers what it got."""

    received: list[tuple[float, bytes]] = []  # noqa: RUF012 (shared by the handler instances of one server)
    failures_left = 2

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
        else:
            type(self).received.append((time.monotonic(), body))
            self.send_response(202)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_node_pushes_a_signed_notice_and_retries_until_accepted(tmp_path: Path) -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    push_url = f"http://127.0.0.1:{receiver.server_address[1]}/push"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}", public_url=base)
    config = tmp_path / "node.toml"
    config.write_text(config.read_text().replace("push_urls = []", f'push_urls = ["{push_url}"]'))
    cli("node", "user", "create", "ana", "--role", "editor", "--password", PASSWORD, config=config)
    token = cli("node", "token", "create", "ana", config=config).stdout.strip()
    try:
        with process(
            CLI, "node", "serve", "--config", str(config), "--port", str(port), ready_url=f"{base}/.well-known/ogp-node"
        ):
            created = httpx.post(
                f"{base}/admin/api/organizations",
                json={"id": "dcga", "name": "Dirección de Control", "classification": "municipal_unit"},
                headers={"Authorization": f"Bearer {token}"},
            )
            answered_at = time.monotonic()
            deadline = time.monotonic() + WAIT_SECONDS
            while not _Receiver.received and time.monotonic() < deadline:
                time.sleep(0.2)
            jwks = signing.load_jwks(httpx.get(f"{base}/feed/v1/jwks.json").content)
            feed = decode(httpx.get(f"{base}/feed/v1/plan.json").content)
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert created.status_code == 201
    assert _Receiver.failures_left == 0
    delivered_at, body = _Receiver.received[-1]
    assert answered_at < delivered_at  # the editor got the answer while the aggregator was still failing
    payload, verified = signing.verify_compact(body.decode(), jwks, typ=PUSH_NOTICE_TYPE)
    notice = json.loads(payload)
    assert notice["cut"] == settings.cut
    assert notice["sequence"] == feed.sequence
    assert notice["feed_url"] == f"{base}/feed/v1/plan.json"
    assert verified.kid
