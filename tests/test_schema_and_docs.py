"""The shipped schema and the generated docs match the code; the feed package stays pure."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from conftest import COMMUNE_FEEDS, FEEDS, ROOT
from ogp_federation.aggregator.benchmarks.docs import catalogue_reference
from ogp_federation.aggregator.common import AggregatorSettings
from ogp_federation.cli import cli
from ogp_federation.cli._reference import cli_reference, settings_document
from ogp_federation.core.settings_docs import undocumented
from ogp_federation.feed import build_schema, schema_json
from ogp_federation.feed.docs import field_reference, rules_reference
from ogp_federation.feed.schema import packaged_schema
from ogp_federation.node.settings import NodeSettings

FEED_PACKAGE = ROOT / "src" / "ogp_federation" / "feed"
FORBIDDEN_IMPORTS = ("litestar", "sqlalchemy", "advanced_alchemy", "asyncpg", "aiosqlite", "apscheduler", "httpx")


def test_packaged_schema_is_generated_from_the_code() -> None:
    assert packaged_schema() == schema_json(), "run: ogp-federation feed schema --out " + str(
        FEED_PACKAGE / "data" / "plan-feed-v1.schema.json"
    )


def test_cli_prints_the_schema() -> None:
    result = CliRunner().invoke(cli, ["feed", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == build_schema()


def test_generated_docs_are_current() -> None:
    assert (ROOT / "docs" / "feed-reference.md").read_text(encoding="utf-8") == field_reference(), (
        "run: ogp-federation feed docs"
    )
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == rules_reference()
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_reference(cli), "run: ogp-federation feed docs"
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == settings_document(), (
        "run: ogp-federation feed docs"
    )
    assert (ROOT / "docs" / "indicadores.md").read_text(encoding="utf-8") == catalogue_reference(), (
        "run: ogp-federation feed docs"
    )


@pytest.mark.parametrize("kind", [NodeSettings, AggregatorSettings], ids=["node", "aggregator"])
def test_every_setting_has_a_description(kind: type[msgspec.Struct]) -> None:
    assert undocumented(kind) == [], (
        "describe each setting in its Meta(description=…): docs/settings.md is built from it"
    )


def test_an_undescribed_setting_is_caught() -> None:
    class Settings(msgspec.Struct):
        described: Annotated[int, msgspec.Meta(description="Said.")] = 1
        silent: int = 2

    assert undocumented(Settings) == ["silent"]


def test_docs_check_flag_reports_stale_files(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["feed", "docs", "--out", str(tmp_path), "--check"]).exit_code == 1
    assert runner.invoke(cli, ["feed", "docs", "--out", str(tmp_path)]).exit_code == 0
    assert runner.invoke(cli, ["feed", "docs", "--out", str(tmp_path), "--check"]).exit_code == 0


def test_every_structure_field_and_enumeration_is_documented() -> None:
    definitions: dict[str, dict[str, Any]] = build_schema()["$defs"]
    undocumented = [name for name, spec in definitions.items() if not spec.get("description")]
    for name, spec in definitions.items():
        undocumented += [f"{name}.{f}" for f, prop in spec.get("properties", {}).items() if not prop.get("description")]
    assert undocumented == []


def test_schema_forbids_unknown_fields_everywhere() -> None:
    definitions: dict[str, dict[str, Any]] = build_schema()["$defs"]
    open_objects = [
        n for n, s in definitions.items() if s.get("type") == "object" and s.get("additionalProperties") is not False
    ]
    assert open_objects == []


def test_feed_package_imports_no_web_or_database_library() -> None:
    offenders = []
    for path in FEED_PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN_IMPORTS]
    assert offenders == []


def test_an_independent_json_schema_validator_agrees_on_the_fixtures() -> None:
    validator = Draft202012Validator(build_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    for name in COMMUNE_FEEDS:
        errors = list(validator.iter_errors(json.loads((FEEDS / name).read_bytes())))
        assert errors == [], name
    for rule in ("schema.required", "schema.unknown_field", "schema.type", "schema.constraint", "enum.value"):
        document = json.loads((FEEDS / "invalid" / f"{rule}.json").read_bytes())
        assert list(validator.iter_errors(document)), rule
