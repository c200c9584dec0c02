"""Validating a change page's result by what it touched equals validating the whole new feed.

The property: for random change pages (fields of every kind changed, references pointed elsewhere or
nowhere, records added, deleted and put back) on valid versions, the incremental result has the same
verdict as the whole validation of the new feed against the old one, the very same findings on the
records it looked at, and — from the old version's counts — the same counts per severity.
"""

from __future__ import annotations

import enum
import random
import types
import typing
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ogp_federation.feed import Entity, encode
from ogp_federation.feed.changes import ChangeError
from ogp_federation.feed.entities import COLLECTIONS, Collection
from ogp_federation.feed.enums import MilestoneStatus
from ogp_federation.feed.model import PlanFeed
from ogp_federation.feed.protocol import Change, ChangePage
from ogp_federation.feed.synth import generate_feed
from ogp_federation.feed.validation import Finding, Report, Severity, validate_feed
from ogp_federation.feed.validation.incremental import validate_change

NOW = datetime.fromisoformat("2026-12-01T12:00:00+00:00")
# Reference attributes and the collection they point at (an assessment's target is handled apart).
_POINTS_AT = {
    "plan_id": "action_plans",
    "commitment_id": "commitments",
    "lead_unit_id": "organizations",
    "forum_id": "organizations",
    "monitoring_body_id": "organizations",
    "lead_organization_id": "organizations",
    "event_id": "participation_events",
    "indicator_code": "indicators",
    "commitment_ids": "commitments",
    "organization_ids": "organizations",
    "supporting_organization_ids": "organizations",
}
_BASES: dict[tuple[str, int, int], PlanFeed] = {}


def _base(cut: str, commitments: int, seed: int) -> PlanFeed:
    key = (cut, commitments, seed)
    if key not in _BASES:
        feed = generate_feed(cut, commitments=commitments, seed=seed)
        _BASES[key] = msgspec.structs.replace(feed, generated_at=NOW - timedelta(days=3))
    return _BASES[key]


def _plain(tp: Any) -> Any:
    """A field's type without Annotated and None."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        arms = [arm for arm in typing.get_args(tp) if arm is not type(None)]
        return _plain(arms[0]) if len(arms) == 1 else tp
    return tp


def _keys(feed: PlanFeed, entity: str) -> list[str]:
    collection = next(c for c in COLLECTIONS if c.entity.value == entity)
    return [collection.key_of(r) for r in collection.records(feed)]


def _mutated(  # noqa: PLR0912 (one branch per kind of field)
    rng: random.Random, feed: PlanFeed, collection: Collection, data: dict[str, Any]
) -> dict[str, Any]:
    """``data`` with one to three of its fields changed, each in a way its type allows."""
    hints = typing.get_type_hints(collection.record_type, include_extras=True)
    names = [name for name in data if name != collection.key]
    for name in rng.sample(names, k=min(len(names), rng.randint(1, 3))):
        value, tp = data[name], _plain(hints[name])
        if name == "parent_id":
            pool = _keys(feed, collection.entity.value)
            data[name] = rng.choice([None, "no-existe", *pool])
        elif name == "target_id":
            data[name] = rng.choice(["no-existe", *_keys(feed, data["target_entity"])])
        elif name == "unit":
            data[name] = rng.choice(["%", "personas", "días", value])
        elif name == "adopted_from":
            data[name] = [{"cut": feed.publisher.cut, "id": "met-propia"}] if rng.random() < 0.5 else []
        elif name in _POINTS_AT:
            pool = [*_keys(feed, _POINTS_AT[name]), "no-existe"]
            data[name] = rng.sample(pool, k=rng.randint(0, 2)) if isinstance(value, list) else rng.choice(pool)
        elif isinstance(tp, type) and issubclass(tp, enum.Enum):
            data[name] = rng.choice(list(tp)).value
        elif tp is date and value is not None:
            shift = timedelta(days=rng.choice([-400, -40, -1, 1, 40, 400]))
            data[name] = (date.fromisoformat(value) + shift).isoformat()
        elif tp is date:
            data[name] = (NOW.date() - timedelta(days=rng.randint(-5, 300))).isoformat()
        elif tp is datetime and value is not None:
            data[name] = (datetime.fromisoformat(value) + timedelta(days=rng.choice([-400, -1, 1, 400]))).isoformat()
        elif tp in (int, float):
            data[name] = rng.choice([0, 1, 25, 50, 99, 100, None] if value is None else [0, 1, 25, 50, 99, 100])
        elif isinstance(value, list):
            data[name] = value[: rng.randint(0, len(value))]
        elif value is not None and rng.random() < 0.3:
            data[name] = None
    return data


def _random_page(rng: random.Random, base: PlanFeed) -> ChangePage:
    """One to five changes: fields changed, records added (new or copies), deleted, or put back."""
    changes: dict[tuple[Entity, str], Change] = {}
    for _ in range(rng.randint(1, 5)):
        collection = rng.choice([c for c in COLLECTIONS if c.records(base)])
        record = rng.choice(collection.records(base))
        key = collection.key_of(record)
        data: dict[str, Any] = msgspec.to_builtins(record)
        roll = rng.random()
        if roll < 0.15:
            changes[(collection.entity, key)] = Change(entity=collection.entity, id=key, sequence=base.sequence + 1)
            continue
        if roll < 0.3:  # a new record like this one
            key = f"nuevo-{rng.randint(0, 99)}"
            data[collection.key] = key
        if roll < 0.9:
            data = _mutated(rng, base, collection, data)
        changes[(collection.entity, key)] = Change(
            entity=collection.entity, id=key, sequence=base.sequence + 1, record=data
        )
    if len(base.commitments) > 1 and rng.random() < 0.2:  # two commitments under each other: a cycle
        first, second = rng.sample(base.commitments, 2)
        for child, parent in ((first, second), (second, first)):
            data = msgspec.to_builtins(child) | {"parent_id": parent.id, "weight": rng.choice([None, 2.0])}
            changes[(Entity.COMMITMENTS, child.id)] = Change(
                entity=Entity.COMMITMENTS, id=child.id, sequence=base.sequence + 1, record=data
            )
    elif len(base.commitments) > 1 and rng.random() < 0.3:  # a commitment under another: the parent's progress
        child, parent = rng.sample(base.commitments, 2)
        data = msgspec.to_builtins(child) | {"parent_id": parent.id, "weight": rng.choice([None, 0.5, 3.0])}
        changes[(Entity.COMMITMENTS, child.id)] = Change(
            entity=Entity.COMMITMENTS, id=child.id, sequence=base.sequence + 1, record=data
        )
    moved = rng.choice([timedelta(minutes=5), timedelta(days=2), timedelta(days=-1)])
    return ChangePage(
        cut=base.publisher.cut,
        since=base.sequence,
        until=base.sequence + 1,
        generated_at=base.generated_at + moved,
        changes=list(changes.values()),
    )


def _counts(report: Report) -> dict[str, int]:
    return {severity.value: report.count(severity) for severity in Severity}


def _seen(findings: list[Finding]) -> list[tuple[str, str, str, str]]:
    return sorted((f.rule, f.path, f.message, f.message_en) for f in findings)


def _assert_equal_to_whole(base: PlanFeed, page: ChangePage) -> bool:
    """The incremental result of ``page`` on ``base`` against the whole validation; whether it applied."""
    base_report, _ = validate_feed(encode(base), now=NOW)
    assert base_report.valid  # the harvest applies pages only to accepted versions
    try:
        changed = validate_change(base, page, encode(page), now=NOW)
    except ChangeError:
        return False  # a record the page cannot type: the harvest reads the full feed instead
    whole, feed = validate_feed(encode(changed.feed), base, now=NOW)
    assert feed is not None
    assert changed.report.valid == whole.valid
    assert changed.counts(_counts(base_report)) == _counts(whole)
    assert not [f for f in whole.findings if f.layer.value == "continuity"]  # continuity holds by construction
    places = {
        (c.entity.value, position)
        for c in COLLECTIONS
        for position, record in enumerate(c.records(changed.feed))
        if (c.entity.value, c.key_of(record)) in changed.scope
    }
    tombstones = enumerate(changed.feed.tombstones)
    places |= {("tombstones", i) for i, t in tombstones if (t.entity.value, t.id) in changed.scope}

    def looked_at(finding: Finding) -> bool:
        head = finding.path.split("]", 1)[0]
        if "[" not in head:
            return True  # the feed itself
        name, position = head[2:].split("[")
        return (name, int(position)) in places

    assert _seen(changed.report.findings) == _seen([f for f in whole.findings if looked_at(f)])
    return True


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    cut=st.sampled_from(["13122", "13119", "13128", "05101"]),
    commitments=st.integers(1, 4),
    base_seed=st.integers(0, 3),
)
def test_the_incremental_result_equals_the_whole_validation(
    seed: int, cut: str, commitments: int, base_seed: int
) -> None:
    base = _base(cut, commitments, base_seed)
    _assert_equal_to_whole(base, _random_page(random.Random(seed), base))  # noqa: S311 (test data)


def _put(base: PlanFeed, entity: Entity, record: Any, **changes: Any) -> ChangePage:
    """A page putting ``record`` (of ``entity``) with ``changes``."""
    data = msgspec.to_builtins(record) | changes
    key = data["code"] if entity is Entity.INDICATORS else data["id"]
    return _page(base, Change(entity=entity, id=key, sequence=base.sequence + 1, record=data))


def _page(base: PlanFeed, *changes: Change) -> ChangePage:
    """A page of ``changes`` after ``base``, at its time."""
    return ChangePage(
        cut=base.publisher.cut,
        since=base.sequence,
        until=base.sequence + 1,
        generated_at=base.generated_at,
        changes=list(changes),
    )


_BASE = generate_feed("13122", commitments=3, seed=0)
_TARGETED = {
    "methodology.adopted_from_self": lambda b: _put(
        b, Entity.METHODOLOGIES, b.methodologies[0], adopted_from=[{"cut": "13122", "id": "met-x"}]
    ),
    "commitment.weight_without_parent": lambda b: _put(b, Entity.COMMITMENTS, b.commitments[0], weight=2.0),
    "indicator.unit_mismatch": lambda b: _put(b, Entity.OBSERVATIONS, b.observations[0], unit="kilómetros"),
    "indicator.catalogue_unknown": lambda b: _put(b, Entity.INDICATORS, b.indicators[0], catalogue_code="no_existe"),
    "plan.oversight_missing": lambda b: _put(b, Entity.ACTION_PLANS, b.action_plans[0], forum_id=None),
    "input.answer_without_date": lambda b: _put(
        b, Entity.INPUTS, next(i for i in b.inputs if i.reasoned_response), answered_on=None
    ),
    "evidence.hash_missing": lambda b: _put(
        b,
        Entity.MILESTONES,
        b.milestones[0],
        evidence=[{"url": "https://example.cl/a.pdf", "kind": "report", "title": "Informe"}],
    ),
}


@pytest.mark.parametrize("rule", sorted(_TARGETED))
def test_rules_random_pages_rarely_reach_give_the_same_result(rule: str) -> None:
    page = _TARGETED[rule](_BASE)
    assert _assert_equal_to_whole(_BASE, page)
    assert rule in validate_change(_BASE, page, now=NOW).report.rules()


def test_a_page_with_repeated_members_or_control_characters_is_refused_by_its_bytes() -> None:
    base = _base("13122", 2, 0)
    page = _put(base, Entity.MILESTONES, base.milestones[0])
    body = encode(page)
    repeated = body.replace(b'"cut":"13122"', b'"cut":"13122","cut":"13119"')
    control = body.replace(b'"title":"', b'"title":"\\u0007', 1)
    assert validate_change(base, page, body, now=NOW).report.valid
    assert validate_change(base, page, repeated, now=NOW).report.rules() == {"json.duplicate_key"}
    assert "text.control" in validate_change(base, page, control, now=NOW).report.rules()


def test_a_deleted_commitment_is_reported_where_it_is_still_referred_to() -> None:
    base = _base("13122", 3, 1)
    gone = base.commitments[0].id
    page = _page(base, Change(entity=Entity.COMMITMENTS, id=gone, sequence=base.sequence + 1))
    changed = validate_change(base, page, now=NOW)
    whole, _ = validate_feed(encode(changed.feed), base, now=NOW)
    assert not changed.report.valid
    refs = {(f.rule, f.path) for f in changed.report.findings if f.rule == "ref.commitment"}
    assert refs
    assert refs == {(f.rule, f.path) for f in whole.findings if f.rule == "ref.commitment"}


@pytest.mark.parametrize("size", [2, 12])
def test_the_scope_of_one_changed_milestone_is_small(size: int) -> None:
    base = _base("13122", size, 0)
    page = _put(base, Entity.MILESTONES, base.milestones[-1], title="Otro título")
    changed = validate_change(base, page, now=NOW)
    assert changed.report.valid
    # the milestone and its commitment (a commitment's scope does not grow with the plan's size)
    assert {entity for entity, _ in changed.scope} <= {"milestones", "commitments"}
    assert len(changed.scope) == 2


def test_counts_from_a_base_counted_by_an_older_ruleset_never_go_below_the_scope() -> None:
    """Stored counts that do not hold what the scope had (another ruleset counted them) cannot go negative."""
    unevidenced = next(m for m in _BASE.milestones if m.status is MilestoneStatus.COMPLETED and not m.evidence)
    evidence = [{"url": "https://example.cl/acta.pdf", "kind": "report", "title": "Acta", "sha256": "0" * 64}]
    changed = validate_change(_BASE, _put(_BASE, Entity.MILESTONES, unevidenced, evidence=evidence), now=NOW)
    assert changed.before  # the milestone had a warning, which the page clears
    counts = changed.counts({})  # nothing stored
    assert all(value >= 0 for value in counts.values())
    assert counts == {severity.value: changed.report.count(severity) for severity in Severity}
