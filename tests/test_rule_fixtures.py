"""fixtures/feeds/invalid and notices: one feed per rule, each reporting exactly its rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FEEDS
from ogp_federation.feed import RULES, validate

NOT_AS_FILES = {"json.too_large"}  # Covered in test_validation with a small max_bytes.


def _rule_files(folder: str) -> list[Path]:
    return sorted(p for p in (FEEDS / folder).glob("*.json") if not p.name.endswith(".previous.json"))


def _validate(path: Path) -> tuple[set[str], bool]:
    previous = path.with_name(path.name.removesuffix(".json") + ".previous.json")
    report = validate(path.read_bytes(), previous.read_bytes() if previous.exists() else None)
    return report.rules(), report.valid


@pytest.mark.parametrize("path", _rule_files("invalid"), ids=lambda p: p.stem)
def test_invalid_fixture_fails_exactly_its_rule(path: Path) -> None:
    rules, valid = _validate(path)
    assert rules == {path.stem}
    assert not valid


@pytest.mark.parametrize("path", _rule_files("notices"), ids=lambda p: p.stem)
def test_notice_fixture_is_valid_and_reports_exactly_its_rule(path: Path) -> None:
    rules, valid = _validate(path)
    assert rules == {path.stem}
    assert valid


def test_every_rule_has_a_fixture_in_the_folder_of_its_severity() -> None:
    invalid = {path.stem for path in _rule_files("invalid")}
    notices = {path.stem for path in _rule_files("notices")}
    blocking = {rule.id for rule in RULES.values() if rule.severity.blocking}
    assert invalid == blocking - NOT_AS_FILES
    assert notices == set(RULES) - blocking


def test_the_invalid_fixtures_report_the_path_of_the_change() -> None:
    cases = {
        "schema.required": "$.milestones[0].title",
        "enum.value": "$.milestones[1].status",
        "ref.commitment": "$.milestones[0].commitment_id",
        "schema.unknown_field": "$.commitments[0].titel",
        "observation.future_period": "$.observations[47].period_end",
        "text.nul": "$.commitments[0].title",
        "text.control": "$.commitments[0].title",
        "json.duplicate_key": "$.publisher.cut",
    }
    for rule, path in cases.items():
        report = validate((FEEDS / "invalid" / f"{rule}.json").read_bytes())
        assert [finding.path for finding in report.findings] == [path], rule
