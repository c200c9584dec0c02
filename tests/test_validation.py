"""validate(): every layer, every finding at once, with rule ids, severities, paths and both languages."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import COMMUNE_FEEDS, FEEDS
from ogp_federation.feed import RULES, RULESET_VERSION, Severity, decode, encode, validate
from ogp_federation.feed.synth import generate_feed
from ogp_federation.feed.validation import Predecessor


def _clean_feed(cut: str, **options: Any) -> Any:
    """A synthetic feed with no findings at all: its completed milestones all carry evidence."""
    from ogp_federation.feed.enums import EvidenceKind, MilestoneStatus  # noqa: PLC0415
    from ogp_federation.feed.model import Evidence  # noqa: PLC0415

    feed = generate_feed(cut, **options)
    milestones = [
        msgspec.structs.replace(
            m,
            evidence=[
                Evidence(
                    url=f"https://example.cl/{m.id}.pdf", kind=EvidenceKind.REPORT, title="Informe", sha256="0" * 64
                )
            ],
        )
        if m.status is MilestoneStatus.COMPLETED and not m.evidence
        else m
        for m in feed.milestones
    ]
    return msgspec.structs.replace(feed, milestones=milestones)


def _base() -> dict[str, Any]:
    return msgspec.to_builtins(_clean_feed("13122", commitments=2, seed=3))


def _encode(doc: dict[str, Any]) -> bytes:
    return msgspec.json.encode(doc)


@pytest.mark.parametrize("name", COMMUNE_FEEDS)
def test_commune_fixture_feeds_are_valid(name: str) -> None:
    report = validate((FEEDS / name).read_bytes())
    assert report.valid, [f for f in report.findings if f.severity.blocking]
    assert report.ruleset_version == RULESET_VERSION
    assert report.spec_version == "1.1"


def test_a_feed_with_five_different_problems_reports_all_five() -> None:
    doc = _base()
    del doc["milestones"][0]["title"]  # schema.required
    doc["milestones"][1]["status"] = "terminado"  # enum.value
    doc["commitments"][0]["lead_organization_id"] = "nadie"  # ref.organization
    doc["participation_events"][0]["end"] = "2020-01-01T00:00:00Z"  # dates.start_after_end
    doc["assessments"].append(copy.deepcopy(doc["assessments"][0]))  # ids.duplicate
    report = validate(_encode(doc))
    assert not report.valid
    assert report.rules() == {
        "schema.required",
        "enum.value",
        "ref.organization",
        "dates.start_after_end",
        "ids.duplicate",
    }


def test_every_bad_field_of_one_record_is_reported() -> None:
    doc = _base()
    milestone = doc["milestones"][0]
    del milestone["title"]
    milestone["status"] = "hecho"
    milestone["progress"] = -5
    milestone["due"] = "31/12/2024"
    milestone["extra"] = True
    report = validate(_encode(doc))
    found = {(f.rule, f.path) for f in report.findings}
    assert found == {
        ("schema.required", "$.milestones[0].title"),
        ("enum.value", "$.milestones[0].status"),
        ("schema.constraint", "$.milestones[0].progress"),
        ("schema.format", "$.milestones[0].due"),
        ("schema.unknown_field", "$.milestones[0].extra"),
    }


def test_a_record_set_aside_for_its_schema_errors_is_not_reported_again_as_missing() -> None:
    doc = _base()
    doc["commitments"][0]["status"] = "??"  # c1 is dropped by the schema layer ...
    report = validate(_encode(doc))
    # ... yet milestones, events and inputs still point at it: no ref.commitment findings.
    assert report.rules() == {"enum.value"}


def test_envelope_and_record_errors_are_reported_together() -> None:
    doc = _base()
    doc["sequence"] = -1
    doc["observations"][3]["value"] = "alto"
    report = validate(_encode(doc))
    assert {(f.rule, f.path) for f in report.findings} == {
        ("schema.constraint", "$.sequence"),
        ("schema.type", "$.observations[3].value"),
    }


def test_oversized_document_is_refused_before_parsing() -> None:
    document = encode(_clean_feed("13122", commitments=1))
    report = validate(document, max_bytes=len(document) - 1)
    assert [(f.rule, f.severity) for f in report.findings] == [("json.too_large", Severity.CRITICAL)]
    assert validate(document, max_bytes=len(document)).valid


def test_findings_carry_stable_ids_severity_path_and_both_languages() -> None:
    doc = _base()
    doc["inputs"][0]["event_id"] = "e404"
    (finding,) = validate(_encode(doc)).findings
    assert finding.rule == "ref.event"
    assert finding.severity is Severity.ERROR
    assert finding.path == "$.inputs[0].event_id"
    assert "e404" in finding.message
    assert "e404" in finding.message_en
    assert finding.message != finding.message_en


def test_report_json_shape() -> None:
    doc = _base()
    doc["observations"][0]["unit"] = "kg"
    data = validate(_encode(doc)).to_dict()
    assert data["valid"] is False
    assert data["ruleset_version"] == RULESET_VERSION
    assert data["counts"] == {"critical": 0, "error": 1, "warning": 0, "advisory": 0}
    (finding,) = data["findings"]
    assert {"rule", "severity", "path", "message", "message_en", "layer"} <= set(finding)
    assert finding["rule"] == "indicator.unit_mismatch"


def test_every_rule_has_messages_in_both_languages() -> None:
    for rule in RULES.values():
        assert rule.es.strip(), rule.id
        assert rule.en.strip(), rule.id
        assert rule.es != rule.en, rule.id
    assert len([r for r in RULES.values() if r.layer.value in ("semantics", "references")]) >= 20


@pytest.mark.parametrize(
    ("weights", "parent_progress", "expected_findings"),
    [
        ((1, 3), 75.0, set()),  # (0 × 1 + 100 × 3) / 4 = 75
        ((1, 3), 50.0, {"commitment.parent_progress"}),
        ((None, None), 50.0, set()),  # no weights: plain mean
    ],
)
def test_parent_progress_is_the_weighted_mean_of_children(
    weights: tuple[float | None, float | None], parent_progress: float, expected_findings: set[str]
) -> None:
    doc = _base()
    parent = copy.deepcopy(doc["commitments"][0])
    parent.update(id="padre", progress=parent_progress, status="in_progress")
    doc["commitments"].append(parent)
    for child, weight, progress, status in zip(
        doc["commitments"][:2], weights, (0.0, 100.0), ("not_started", "completed"), strict=True
    ):
        child.update(parent_id="padre", progress=progress, status=status)
        if weight is not None:
            child["weight"] = weight
    report = validate(_encode(doc))
    assert report.rules() & {"commitment.parent_progress"} == expected_findings


def test_generated_in_future_depends_on_the_clock() -> None:
    document = encode(_clean_feed("13122", commitments=1))
    before = datetime(2025, 1, 1, tzinfo=UTC)
    after = datetime(2027, 1, 1, tzinfo=UTC)
    assert validate(document, now=before).rules() == {"feed.generated_in_future"}
    assert validate(document, now=after).valid


def test_continuity_accepts_a_decoded_previous_feed_and_tombstoned_deletions() -> None:
    previous = _clean_feed("13122", commitments=2, seed=3, sequence=5)
    doc = msgspec.to_builtins(_clean_feed("13122", commitments=2, seed=3, sequence=6))
    removed = doc["assessments"].pop()
    doc["tombstones"] = [{"entity": "assessments", "id": removed["id"], "deleted_at": "2026-01-15T13:00:00Z"}]
    assert validate(_encode(doc), previous).valid
    doc["tombstones"] = []
    report = validate(_encode(doc), previous)
    assert [(f.rule, f.message_en) for f in report.findings] == [
        ("continuity.record_vanished", f"assessments '{removed['id']}' vanished without a tombstone.")
    ]


def test_continuity_against_a_predecessor_matches_the_previous_feed() -> None:
    """What a consumer stored of the last version (publisher, sequence, time, keys) checks as the feed would."""
    previous = _clean_feed("13122", commitments=2, seed=3, sequence=5)
    doc = msgspec.to_builtins(_clean_feed("13122", commitments=2, seed=3, sequence=6))
    removed = doc["assessments"].pop()
    for current in (doc, {**doc, "sequence": 5}, {**doc, "publisher": {**doc["publisher"], "cut": "13101"}}):
        by_feed = validate(_encode(current), previous).findings
        by_predecessor = validate(_encode(current), Predecessor.of(previous)).findings
        assert {f.rule for f in by_feed} & {
            "continuity.record_vanished",
            "continuity.sequence_not_increasing",
            "continuity.publisher_changed",
        }
        assert [(f.rule, f.path, f.message_en) for f in by_predecessor] == [
            (f.rule, f.path, f.message_en) for f in by_feed
        ]
    keys = {entity: list(ids) for entity, ids in Predecessor.of(previous).keys.items()}
    keys["assessments"] = [k for k in keys["assessments"] if k != removed["id"]]  # already gone, as stored
    stored = Predecessor("13122", 5, previous.generated_at, keys)
    assert validate(_encode(doc), stored).valid


def test_continuity_does_not_call_records_set_aside_for_schema_errors_vanished() -> None:
    previous = _clean_feed("13122", commitments=2, seed=3, sequence=5)
    doc = msgspec.to_builtins(_clean_feed("13122", commitments=2, seed=3, sequence=6))
    doc["assessments"][0]["stage"] = "final"
    assert validate(_encode(doc), previous).rules() == {"enum.value"}


def test_continuity_replayed_feed_is_not_increasing() -> None:
    document = encode(_clean_feed("13122", commitments=1, sequence=9))
    older = encode(_clean_feed("13122", commitments=1, sequence=8))
    assert validate(older, document).rules() == {
        "continuity.sequence_not_increasing",
        "continuity.generated_at_backwards",
    }


def test_decode_round_trips_the_fixture() -> None:
    feed = decode((FEEDS / "penalolen.json").read_bytes())
    assert decode(encode(feed)) == feed
    assert feed.publisher.cut == "13122"
    assert len(feed.commitments) == 3


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "json.syntax"),
        (b"\xef\xbb\xbf{}", "json.encoding"),
        (b"", "json.syntax"),
        (b"[]", "schema.type"),
        (b"null", "schema.type"),
        (b'{"spec_version": "9.1"}', "spec.version"),
    ],
)
def test_hostile_or_broken_documents_get_a_precise_finding(document: bytes, rule: str) -> None:
    report = validate(document)
    assert not report.valid
    assert rule in report.rules()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_validate_never_raises_on_arbitrary_bytes(document: bytes) -> None:
    report = validate(document)
    assert not report.valid


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["milestones", "commitments", "inputs", "observations", "participation_events"]), _json)
def test_validate_never_raises_when_a_record_is_replaced_by_arbitrary_json(collection: str, junk: Any) -> None:
    doc = _base()
    doc[collection][0] = junk
    report = validate(_encode(doc))
    assert not report.valid
    assert all(f.path.startswith(f"$.{collection}[") for f in report.findings if f.layer.value == "schema")
