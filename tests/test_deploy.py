"""The deploy recipes, checked without a container engine: what can be verified here is verified.

Compose with ``docker-compose config`` (installed by ``.ci/run``), the systemd units with
``systemd-analyze verify``, the Kubernetes manifests against the API's JSON schemas, the alert rules'
PromQL parsed and every metric they name exported by the aggregator, and every setting any recipe sets
known to the settings it configures.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import msgspec
import promql_parser
import pytest
import yaml
from prometheus_client import generate_latest

from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.aggregator.status.metrics import Metrics
from ogp_federation.node.settings import NodeSettings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
KUBERNETES = DEPLOY / "kubernetes" / "base"
CLI = Path(sys.executable).with_name("ogp-federation")
KUBERNETES_VERSION = "1.30.0"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is needed to check the deploy recipes (installed by .ci/run)", pytrace=False)
    return path


def test_the_compose_file_is_valid_with_the_example_environment(tmp_path: Path) -> None:
    (tmp_path / "empty.env").write_text("", encoding="utf-8")
    compose = [_tool("docker-compose"), "-f", str(DEPLOY / "compose.yaml")]
    checked = subprocess.run(
        [*compose, "--env-file", str(DEPLOY / ".env.example"), "config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    resolved = yaml.safe_load(checked.stdout)
    services = resolved["services"]
    assert {"db", "migrate", "web", "worker", "node", "proxy"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["web"]["environment"]["OGP_AGG_SCHEDULER"] == "false"  # only the workers harvest
    missing = subprocess.run(
        [*compose, "--env-file", str(tmp_path / "empty.env"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
    )
    assert missing.returncode != 0  # a secret left unset stops it, naming the variable
    assert "POSTGRES_PASSWORD" in missing.stderr


def test_the_image_is_multi_stage_non_root_with_a_health_check() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert len(stages) >= 2
    assert users
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    assert "COPY --from=build" in "\n".join(lines)


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` says nothing about them (it exits 0 even on unknown keys: its words count)."""
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {unit.name for unit in units} == {
        "ogp-aggregator-web.service",
        "ogp-aggregator-worker@.service",
        "ogp-node.service",
    }
    checked = []
    for unit in units:
        text = unit.read_text(encoding="utf-8").replace("/opt/ogp/bin/ogp-federation", str(CLI))
        name = unit.name.replace("@.service", "@1.service")
        (tmp_path / name).write_text(text, encoding="utf-8")
        checked.append(str(tmp_path / name))
        assert "NoNewPrivileges=yes" in text
        assert "ProtectSystem=strict" in text
        assert re.search(r"^User=ogp$", text, re.MULTILINE)
    verified = subprocess.run(
        [_tool("systemd-analyze"), "verify", *checked], capture_output=True, text=True, check=False, timeout=60
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == "", verified.stderr


def _manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text(encoding="utf-8"))
    documents = []
    for name in kustomization["resources"]:
        documents += [d for d in yaml.safe_load_all((KUBERNETES / name).read_text(encoding="utf-8")) if d]
    return documents


def _containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    spec = document.get("spec", {})
    template = spec.get("template", spec.get("jobTemplate", {}).get("spec", {}).get("template", {}))
    return list(template.get("spec", {}).get("containers", []))


def test_the_kubernetes_manifests_meet_the_api_schemas_and_keep_secrets_out() -> None:
    documents = _manifests()
    kinds = sorted(d["kind"] for d in documents)
    assert kinds == ["ConfigMap", "Deployment", "Deployment", "Job", "Service"]
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    for document in documents:
        for container in _containers(document):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            for variable in container.get("env", []):
                if variable["name"] in {"OGP_AGG_DATABASE_URL", "OGP_AGG_ADMIN_TOKEN_HASHES"}:
                    assert "secretKeyRef" in variable["valueFrom"], variable  # by reference, never inline


def test_a_broken_manifest_is_caught() -> None:
    """The schema check is not a formality: a misspelt field fails it."""
    deployment = next(d for d in _manifests() if d["kind"] == "Deployment")
    deployment["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def _metric_names(node: Any) -> set[str]:
    if isinstance(node, promql_parser.VectorSelector):
        return {node.name} if node.name else set()
    found: set[str] = set()
    for attribute in ("lhs", "rhs", "expr", "vector_selector"):
        child = getattr(node, attribute, None)
        if child is not None:
            found |= _metric_names(child)
    for child in getattr(node, "args", None) or []:
        found |= _metric_names(child)
    return found


def test_the_alert_rules_parse_and_name_only_metrics_the_aggregator_exports() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text(encoding="utf-8"))["groups"][0]["rules"]
    metrics = Metrics()
    metrics.polls.labels("accepted").inc()
    metrics.pushes.labels("new").inc()
    metrics.duration.observe(0.1)
    exported = {line.split("{")[0].split(" ")[0] for line in generate_latest(metrics.registry).decode().splitlines()}
    exported = {name for name in exported if name and not name.startswith("#")}
    named: set[str] = set()
    for rule in rules:
        assert rule["alert"].startswith("OGP")
        assert {"summary", "description"} <= set(rule["annotations"])
        named |= _metric_names(promql_parser.parse(rule["expr"]))
    assert named - {"up"} <= exported, named - exported
    assert {"ogp_polls_total", "ogp_queue_lag_seconds", "ogp_poll_duration_seconds_bucket"} <= named


def test_every_setting_a_recipe_sets_exists() -> None:
    """An OGP_AGG_*/OGP_NODE_* variable that names no setting would be ignored silently: none does."""
    aggregator = {f.name.upper() for f in msgspec.structs.fields(AggregatorSettings)}
    node = {f.name.upper() for f in msgspec.structs.fields(NodeSettings)} | {"CONFIG"}
    texts = [p.read_text(encoding="utf-8") for p in DEPLOY.rglob("*") if p.is_file()]
    used = {match for text in texts for match in re.findall(r"OGP_(?:AGG|NODE)_[A-Z_]+", text)}
    assert used
    for variable in used:
        prefix, _, name = variable.partition("_")[2].partition("_")
        known = aggregator if prefix == "AGG" else node
        assert name in known, f"{variable} names no setting"


@pytest.mark.postgres
async def test_a_backup_restores_the_same_history(tmp_path: Path) -> None:
    """docs/operations.md's backup and restore, as written: pg_dump -Fc, then pg_restore into a new database."""
    from agg_helpers import FakeNode, aggregator, fake_nodes, make_due  # noqa: PLC0415
    from conftest import fresh_pg_database  # noqa: PLC0415

    def asyncpg_url(dsn: str) -> str:
        return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    async with fresh_pg_database() as source, fresh_pg_database() as target:
        async with fake_nodes() as server, aggregator(asyncpg_url(source)) as runtime:
            node = server.add(FakeNode("13122"))
            await runtime.registry.add_node("13122", server.base("13122"), trust_fetched_keys=True)
            await runtime.scheduler.tick()
            node.publish(2)
            await make_due(runtime, "13122")
            await runtime.scheduler.tick()
            before = await runtime.history.versions("13122")
            feed_before = await runtime.history.feed("13122")
        dump = tmp_path / "ogp.dump"
        subprocess.run([_tool("pg_dump"), "-Fc", "-f", str(dump), source], check=True, timeout=120)
        subprocess.run(
            [_tool("pg_restore"), "--no-owner", "--exit-on-error", "-d", target, str(dump)], check=True, timeout=120
        )
        async with aggregator(asyncpg_url(target)) as restored:
            after = await restored.history.versions("13122")
            feed_after = await restored.history.feed("13122")
    assert [v.sha256 for v in after.items] == [v.sha256 for v in before.items]
    assert len(after.items) == 2
    assert feed_after.body == feed_before.body
