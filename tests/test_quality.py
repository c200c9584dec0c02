"""Publisher data-quality scores: the methodology's arithmetic, daily history by version, gaps, API and CLI."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due
from agg_helpers import test_settings as agg_settings
from conftest import FEEDS
from ogp_federation.aggregator.app import create_app
from ogp_federation.aggregator.history import snapshot_records
from ogp_federation.aggregator.quality import VERSION, Facts, QualityScore, score
from ogp_federation.aggregator.quality.docs import methodology_reference
from ogp_federation.aggregator.quality.methodology import COMPONENTS, MEASURES
from ogp_federation.feed import decode

MAIPU_BYTES = (FEEDS / "maipu.json").read_bytes()
MAIPU = decode(MAIPU_BYTES)


def _facts(**changes: Any) -> Facts:
    base: dict[str, Any] = {
        "day": date(2026, 12, 1),
        "months_counted": 12,
        "months_updated": 12,
        "days_since_change": 3,
        "milestones_completed": 10,
        "milestones_without_evidence": [],
        "inputs_answerable": 4,
        "inputs_unanswered": [],
        "core_slots": 20,
        "core_missing": [],
        "records_seen": 100,
        "warnings": 0,
        "advisories": 0,
        "findings": [],
        "versions_offered": 5,
        "versions_rejected": [],
        "polls": 100,
        "polls_failed": [],
    }
    return Facts(**{**base, **changes})


def test_a_perfect_publisher_scores_100_with_nothing_to_raise() -> None:
    result = score(_facts())
    assert result.overall == 100.0
    assert result.gaps == []
    assert result.version == VERSION


def test_the_scores_arithmetic_by_hand() -> None:
    """Timeliness: months 6/12 = 50, 197 days since the change = 100 × (365 − 197) / 335 = 50.149…;
    completeness: evidence 8/10 = 80, inputs 3/4 = 75, fields 15/20 = 75; validity: 100 records,
    2 warnings and 5 advisories = 100 − 10 × 2 − 2 × 5 = 70, versions 4/5 = 80; availability 90/100."""
    result = score(
        _facts(
            months_updated=6,
            days_since_change=197,
            milestones_without_evidence=["a", "b"],
            inputs_unanswered=["i"],
            core_missing=[f"f{n}" for n in range(5)],
            warnings=2,
            advisories=5,
            versions_rejected=["2026-11-30: feed.invalid"],
            polls_failed=[f"p{n}" for n in range(10)],
        )
    )
    components = {c.code: c.value for c in result.components}
    freshness = 100 * (365 - 197) / (365 - 30)
    assert components["timeliness"] == pytest.approx((50 + freshness) / 2)
    assert components["completeness"] == pytest.approx((80 + 75 + 75) / 3)
    assert components["validity"] == pytest.approx((70 + 80) / 2)
    assert components["availability"] == pytest.approx(90)
    expected = 0.25 * (50 + freshness) / 2 + 0.30 * (80 + 75 + 75) / 3 + 0.25 * 75 + 0.20 * 90
    assert result.overall == pytest.approx(expected)
    gaps = {g.measure: g for g in result.gaps}
    assert gaps["months_updated"].points == pytest.approx(0.25 / 2 * 50, abs=0.01)
    assert gaps["milestones_with_evidence"].items == ["a", "b"]
    assert gaps["polls_succeeded"].count == 10
    assert [g.points for g in result.gaps] == sorted((g.points for g in result.gaps), reverse=True)


def test_measures_that_do_not_apply_are_left_out_not_zeroed() -> None:
    """No completed milestones, no inputs, no polls: those measures and availability drop out."""
    result = score(_facts(milestones_completed=0, inputs_answerable=0, polls=0, core_missing=["x"] * 10))
    components = {c.code: c.value for c in result.components}
    assert components["availability"] is None
    assert components["completeness"] == 50.0  # only the core fields (10 of 20) apply
    # weights renormalised over timeliness, completeness and validity: 0.25 + 0.30 + 0.25 = 0.80
    assert result.overall == pytest.approx((0.25 * 100 + 0.30 * 50 + 0.25 * 100) / 0.80)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
    st.one_of(st.none(), st.integers(0, 800)),
    st.integers(0, 30).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
    st.integers(0, 30).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
    st.integers(0, 50),
    st.integers(0, 50),
    st.integers(0, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
)
def test_the_gaps_add_up_to_what_the_score_lacks(  # noqa: PLR0917 (one argument per drawn fact)
    months: tuple[int, int],
    days: int | None,
    milestones: tuple[int, int],
    polls: tuple[int, int],
    warnings: int,
    advisories: int,
    inputs: tuple[int, int],
) -> None:
    """Whatever the facts, the points of the gaps sum to 100 − overall, and every score is within 0–100."""
    result = score(
        _facts(
            months_counted=months[0],
            months_updated=months[1],
            days_since_change=days,
            milestones_completed=milestones[0],
            milestones_without_evidence=["m"] * milestones[1],
            polls=polls[0],
            polls_failed=["p"] * polls[1],
            warnings=warnings,
            advisories=advisories,
            inputs_answerable=inputs[0],
            inputs_unanswered=["i"] * inputs[1],
        )
    )
    assert result.overall is not None
    assert 0 <= result.overall <= 100
    assert sum(g.points for g in result.gaps) == pytest.approx(100 - result.overall, abs=0.01 * (len(result.gaps) + 1))
    for component in result.components:
        assert component.value is None or 0 <= component.value <= 100


def test_the_methodology_document_states_every_weight_and_measure() -> None:
    text = methodology_reference()
    spanish, english = text.split("\n---\n")
    assert f"versión {VERSION}" in spanish
    assert f"version {VERSION}" in english
    assert sum(weight for weight, _, _ in COMPONENTS.values()) == pytest.approx(1.0)
    for weight, name_es, name_en in COMPONENTS.values():
        assert f"| {name_es} | {weight:.2f} |" in spanish
        assert f"| {name_en} | {weight:.2f} |" in english
    for spec in MEASURES:
        assert f"`{spec.code}`" in spanish
        assert spec.definition_en in english
    assert (Path(__file__).parents[1] / "docs" / "metodologia-calidad.md").read_text(encoding="utf-8") == text


async def _harvest_maipu(runtime: Any, server: Any) -> FakeNode:
    """Maipú's fixture served by a fake node, registered and harvested once."""
    node = FakeNode("13119")
    node.publish(17, MAIPU_BYTES)
    server.add(node)
    await runtime.registry.add_node("13119", server.base("13119"), trust_fetched_keys=True)
    await runtime.scheduler.tick()
    return node


async def _broken(writer: Any, headers: dict[str, str]) -> None:
    writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\nConnection: close\r\n\r\nbroken")
    await writer.drain()


async def _score_count(runtime: Any) -> list[tuple[str, str]]:
    async with runtime.db.sessions() as session:
        rows = (await session.execute(select(QualityScore.day, QualityScore.methodology))).all()
    return sorted((str(day), methodology) for day, methodology in rows)


async def test_maipu_is_scored_from_its_harvest_and_a_failing_node_loses_availability(database_url: str) -> None:
    """Maipú harvested once, scored by hand; then its node fails a poll, and the day's score is replaced."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        node = await _harvest_maipu(runtime, server)
        assert await runtime.quality.compute() == 1
        first = await runtime.quality.quality("13119")
        node.behaviour = _broken
        await make_due(runtime, "13119")
        await runtime.scheduler.tick()
        await runtime.quality.compute()
        second = await runtime.quality.quality("13119")
        rows = await _score_count(runtime)
    records = len(snapshot_records(MAIPU))
    measures = {m.code: m.value for c in first.components for m in c.measures}
    # One version, accepted today: 1 of 1 months, 0 days old.
    assert measures["months_updated"] == 100.0
    assert measures["days_since_change"] == 100.0
    # Six completed milestones, each with evidence; seven inputs not withdrawn, all with a reasoned response.
    assert measures["milestones_with_evidence"] == 100.0
    assert measures["inputs_answered"] == 100.0
    # 47 core slots (3 commitments × 4, 9 milestones × 1, 4 events × 3, 1 methodology × 4, 5 indicators
    # × 2), 27 of them empty (3 + 4 of the commitments, the 9 milestones' descriptions, cuenta-2025's
    # minutes, 3 of the methodology, 2 + 2 + 3 of the indicators): 20 filled.
    assert measures["core_fields"] == pytest.approx(100 * 20 / 47)
    # No warnings; six advisories (evidence without a hash) over the version's records.
    assert measures["findings"] == pytest.approx(100 - 2 * 6 * 100 / records)
    assert measures["versions_accepted"] == 100.0
    assert measures["polls_succeeded"] == 100.0
    completeness = (100 + 100 + 100 * 20 / 47) / 3
    validity = (100 - 2 * 6 * 100 / records + 100) / 2
    assert first.overall == pytest.approx(0.25 * 100 + 0.30 * completeness + 0.25 * validity + 0.20 * 100)
    gaps = {g.measure: g for g in first.gaps}
    assert gaps["core_fields"].count == 27
    assert "commitments/datos: problem" in gaps["core_fields"].items
    assert "participation_events/cuenta-2025: minutes_url" in gaps["core_fields"].items
    assert gaps["findings"].count == 6
    assert all(item.startswith("evidence.hash_missing") for item in gaps["findings"].items)
    # The failed poll: one of two polls answered; the gap names the failure.
    after = {m.code: m.value for c in second.components for m in c.measures}
    assert after["polls_succeeded"] == 50.0
    failed = next(g for g in second.gaps if g.measure == "polls_succeeded")
    assert failed.items[0].startswith("http.")
    assert "1×" in failed.items[0]
    assert second.overall is not None
    assert first.overall is not None
    assert second.overall < first.overall
    assert len(rows) == 1  # the same day recomputed by the same version replaces its row


async def test_a_new_methodology_never_overwrites_the_scores_of_an_older_one(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _harvest_maipu(runtime, server)
        now = datetime.now(UTC)
        async with runtime.db.transaction() as session:
            for days, methodology in ((1, "0"), (0, "0")):  # yesterday and today by an older methodology
                session.add(
                    QualityScore(
                        cut="13119",
                        day=(now - timedelta(days=days)).astimezone(UTC).date(),
                        methodology=methodology,
                        overall=42.0,
                        detail={"components": [], "gaps": []},
                        computed_at=now,
                    )
                )
        await runtime.quality.compute(now=now)
        await runtime.quality.compute(now=now + timedelta(days=1))
        view = await runtime.quality.quality("13119")
        async with runtime.db.sessions() as session:
            old = await session.scalar(select(func.count()).where(QualityScore.methodology == "0"))
    assert old == 2
    assert view.methodology == VERSION
    assert [p.methodology for p in view.history].count(VERSION) == 2
    assert [p.methodology for p in view.history].count("0") == 2
    assert [p.day for p in view.history] == sorted((p.day for p in view.history), reverse=True)


async def test_the_api_serves_the_methodology_and_a_communes_score(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _harvest_maipu(runtime, server)
        await runtime.quality.compute()
    async with AsyncTestClient(app=create_app(agg_settings(database_url))) as http:
        methodology = await http.get("/api/v1/quality/methodology")
        scored = await http.get("/api/v1/communes/13119/quality")
        unscored = await http.get("/api/v1/communes/13122/quality")
        unknown = await http.get("/api/v1/communes/99999/quality")
        malformed = await http.get("/api/v1/communes/abc/quality")
    assert methodology.status_code == 200
    assert methodology.json()["version"] == VERSION
    assert set(methodology.json()["weights"]) == set(COMPONENTS)
    body = scored.json()
    assert scored.status_code == 200
    assert body["name"] == "Maipú"
    assert body["synthetic"] is False
    assert body["gaps"][0]["fix_es"]
    assert len(body["history"]) == 1
    for answer, status in ((unscored, 404), (unknown, 404), (malformed, 400)):
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert unscored.json()["type"].endswith("quality.no_score")


def test_the_command_line_computes_and_explains_a_score(tmp_path: Path) -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from ogp_federation.cli import cli  # noqa: PLC0415

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    async def harvest() -> None:
        async with fake_nodes() as server, aggregator(database_url) as runtime:
            await _harvest_maipu(runtime, server)

    asyncio.run(harvest())
    env = {"OGP_AGG_DATABASE_URL": database_url, "OGP_AGG_SCHEDULER": "false"}
    runner = CliRunner()
    shown = runner.invoke(cli, ["aggregator", "quality", "13119", "--compute"], env=env)
    english = runner.invoke(cli, ["aggregator", "quality", "13119"], env={**env, "OGP_LANG": "en"})
    nothing = runner.invoke(cli, ["aggregator", "quality"], env=env)
    unknown = runner.invoke(cli, ["aggregator", "quality", "99999"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "1 comuna puntuada" in shown.output
    assert "Maipú (13119) — puntaje" in shown.output
    assert "Qué subiría el puntaje:" in shown.output
    assert "Complete estos campos." in shown.output
    assert english.exit_code == 0
    assert "What would raise the score:" in english.output
    assert "Fill in these fields." in english.output
    assert nothing.exit_code == 2
    assert "--compute" in nothing.output
    assert unknown.exit_code != 0
    assert "99999" in unknown.output


def test_the_daily_job_is_scheduled_in_chiles_time(tmp_path: Path) -> None:
    async def check() -> Any:
        async with aggregator(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}") as runtime:
            assert "quality-scores" in runtime.scheduler.daily
            runtime.scheduler.start()
            try:
                job = runtime.scheduler._scheduler.get_job("quality-scores")
                return str(job.trigger), str(job.trigger.timezone), job.next_run_time
            finally:
                runtime.scheduler.stop()

    trigger, zone, first_run = asyncio.run(check())
    assert "hour='4'" in trigger
    assert "minute='15'" in trigger
    assert zone == "America/Santiago"
    assert first_run is not None
