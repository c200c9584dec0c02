"""The fixture feeds are what their builders produce, and the synthetic generator is valid and deterministic."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import COMMUNE_FEEDS, FEEDS, FIXTURES
from ogp_federation.feed import RULES, CommuneReference, decode, encode, validate
from ogp_federation.feed.synth import commitments_for_bytes, generate_feed


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, FIXTURES / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", COMMUNE_FEEDS)
def test_commune_feed_files_match_their_builder(name: str) -> None:
    builders = _script("build_feeds")
    feed = builders.document(name.removesuffix(".json"))
    assert decode((FEEDS / name).read_bytes()) == decode(encode(builders.msgspec.convert(feed, builders.PlanFeed)))


def test_penalolen_carries_the_three_commitments_of_the_seed_presentation() -> None:
    feed = decode((FEEDS / "penalolen.json").read_bytes())
    titles = " | ".join(c.title for c in feed.commitments)
    assert feed.publisher.cut == "13122"
    assert "Peñalolén Más Verde" in titles
    assert "Discapacidad" in titles
    assert "Conectados Todo es más Fácil" in titles
    assert all(any(m.commitment_id == c.id for m in feed.milestones) for c in feed.commitments)
    assert feed.inputs
    assert all(i.reasoned_response for i in feed.inputs if i.state.value not in ("evaluating", "withdrawn"))
    months = {o.period_start.month for o in feed.observations if o.indicator_code == "PEN-SAI-PLAZO"}
    assert months == set(range(1, 13))


def test_maipu_adopts_a_penalolen_methodology() -> None:
    maipu = decode((FEEDS / "maipu.json").read_bytes())
    penalolen = decode((FEEDS / "penalolen.json").read_bytes())
    (reference,) = maipu.methodologies[0].adopted_from
    assert (reference.cut, reference.id) == ("13122", penalolen.methodologies[0].id)


def test_rule_fixture_builder_covers_every_rule() -> None:
    builder = _script("build_rule_feeds")
    assert set(RULES) == set(builder.MUTATIONS) | set(builder.RAW) | set(builder.NOT_AS_FILES)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(sorted(c.cut for c in CommuneReference.packaged())),
    st.integers(1, 6),
    st.integers(0, 10_000),
)
def test_synthetic_feeds_are_valid_for_any_commune(cut: str, commitments: int, seed: int) -> None:
    report = validate(encode(generate_feed(cut, commitments=commitments, seed=seed)))
    assert report.valid, report.findings[:3]
    # Only what a real plan shows too: some completed milestones without evidence (the benchmarks and the
    # quality scores measure it), never anything else.
    assert {f.rule for f in report.findings} <= {"milestone.completed_without_evidence"}
    assert report.cut == cut


def test_synthetic_feeds_are_deterministic_and_sized() -> None:
    first = encode(generate_feed("13122", commitments=commitments_for_bytes(100_000), seed=1))
    again = encode(generate_feed("13122", commitments=commitments_for_bytes(100_000), seed=1))
    other = encode(generate_feed("13122", commitments=commitments_for_bytes(100_000), seed=2))
    assert first == again
    assert first != other
    assert 70_000 < len(first) < 130_000


def test_synthetic_sequences_follow_on() -> None:
    first = encode(generate_feed("13119", commitments=2, sequence=1))
    second = encode(generate_feed("13119", commitments=2, sequence=2))
    assert validate(second, first).valid
    assert not validate(first, second).valid


def test_unknown_cut_is_refused() -> None:
    with pytest.raises(ValueError, match="99999"):
        generate_feed("99999")
