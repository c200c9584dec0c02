"""A bounded OpenAPI fuzz run (schemathesis) against both services, authenticated: no 5xx, answers as documented.

Each service runs as a real process on loopback; schemathesis generates requests from its OpenAPI
document (the coverage and fuzzing phases, a few examples per operation) and checks every answer:
not a server error, a documented status code and content type, a body that matches its schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_node_federation import CLI, cli, free_port, process

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


def _fuzz(url: str, token: str, folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{url}/schema/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            "8",
            "--seed",
            "20261201",
            "--phases",
            "coverage,fuzzing",
            "--request-timeout",
            "10",
            "--no-color",
            "-H",
            f"Authorization: Bearer {token}",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        cwd=folder,  # schemathesis keeps a cache in the folder it runs in: never the checkout
    )


@pytest.mark.slow
def test_the_node_answers_every_generated_request_as_documented(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "node.toml"
    cli("node", "init", "--cut", "13122", "--data-dir", str(tmp_path / "data"), "--public-url",
        f"http://127.0.0.1:{port}", "--contact-email", "ga@penalolen.cl", config=config)  # fmt: skip
    cli(
        "node",
        "user",
        "create",
        "fuzz",
        "--role",
        "admin",
        "--password-stdin",
        config=config,
        stdin="una-clave-larga\n",
    )
    token = cli("node", "token", "create", "fuzz", config=config).stdout.strip()
    env = {**os.environ, "OGP_NODE_CONFIG": str(config)}
    with process(CLI, "node", "serve", "--port", str(port), ready_url=f"http://127.0.0.1:{port}/ready", env=env):
        done = _fuzz(f"http://127.0.0.1:{port}", token, tmp_path)
    assert done.returncode == 0, done.stdout[-6000:]


@pytest.mark.slow
def test_the_aggregator_answers_every_generated_request_as_documented(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "aggregator.toml"
    made = cli("aggregator", "init", "--config", str(config), "--allow-network", "127.0.0.0/8")
    token = made.stdout.split("(se muestra solo esta vez): ")[1].split()[0]
    env = {**os.environ, "OGP_AGG_CONFIG": str(config)}
    with process(CLI, "aggregator", "serve", "--port", str(port), ready_url=f"http://127.0.0.1:{port}/ready", env=env):
        done = _fuzz(f"http://127.0.0.1:{port}", token, tmp_path)
    assert done.returncode == 0, done.stdout[-6000:]


@pytest.mark.slow
def test_what_a_researchers_token_opens_answers_as_documented(tmp_path: Path) -> None:
    """The same run over the research endpoints, with an OAuth2 access token of a client with every scope."""
    import httpx  # noqa: PLC0415

    port = free_port()
    config = tmp_path / "aggregator.toml"
    cli("aggregator", "init", "--config", str(config), "--allow-network", "127.0.0.0/8")
    env = {**os.environ, "OGP_AGG_CONFIG": str(config), "OGP_AGG_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    create = [CLI, "aggregator", "client", "create", "--name", "fuzz", "--contact", "f@x.cl"]
    made = subprocess.run(
        [*create, "--scopes", "read,stream,bulk"], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    client_id = made.stdout.split("client_id: ")[1].split()[0]
    secret = made.stdout.split("(se muestra solo esta vez): ")[1].split()[0]
    base = f"http://127.0.0.1:{port}"
    with process(CLI, "aggregator", "serve", "--port", str(port), ready_url=f"{base}/ready", env=env):
        token = httpx.post(
            f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).json()["access_token"]
        done = _fuzz(base, token, tmp_path, "--include-tag-regex", "research|releases|catalogue|oauth")
    assert done.returncode == 0, done.stdout[-6000:]
    selected = int(done.stdout.split("Operations:")[1].split("selected")[0].strip())
    assert selected >= 9  # the OAuth endpoints, the records, the stream, the releases and the catalogue
