"""Benchmarks: derived indicators, the analytic store (incremental = rebuild, time travel), comparisons, API."""

from __future__ import annotations

import asyncio
import random
import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, insert, select

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due
from agg_helpers import test_settings as agg_settings
from conftest import FEEDS
from ogp_federation.aggregator.app import create_app
from ogp_federation.aggregator.benchmarks import BenchObservation, catalogue, derive
from ogp_federation.aggregator.benchmarks.stats import Ranker, quantile, rank, summarise
from ogp_federation.aggregator.registry import Commune
from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.feed import decode, encode
from ogp_federation.feed.enums import MilestoneStatus

MAIPU = decode((FEEDS / "maipu.json").read_bytes())
PENALOLEN = decode((FEEDS / "penalolen.json").read_bytes())
RENCA = decode((FEEDS / "renca.json").read_bytes())


def _values(feed: Any) -> dict[tuple[str, str], float]:
    return {(d.code, d.period): d.value for d in derive(feed)}


def test_the_catalogue_has_what_a_comparison_needs() -> None:
    current = catalogue()
    assert current.version == "1"
    assert len(current.indicator) >= 25
    assert len({item.code for item in current.indicator}) == len(current.indicator)
    assert {item.kind for item in current.indicator} == {"derived", "published"}
    for item in current.indicator:
        assert all((item.name_es, item.name_en, item.definition_es, item.definition_en))
        assert item.direction in ("higher_better", "lower_better", "neutral")


def _every_indicator(feed: Any, year: str, expected: dict[str, float]) -> None:
    """Each catalogue indicator's value for ``year`` (methodologies: the feed's own year), as worked out by hand."""
    from ogp_federation.aggregator.benchmarks.store import _published  # noqa: PLC0415

    assert set(expected) == {item.code for item in catalogue().indicator}, "every indicator of the catalogue"
    values = {(d.code, d.period): d.value for d in [*derive(feed), *_published(feed)]}
    own_year = str(feed.generated_at.year)
    for code, value in expected.items():
        period = own_year if code.startswith("metodologias_") else year
        assert (code, period) in values, f"{code} {period} is not computed"
        assert values[(code, period)] == pytest.approx(value, abs=1e-6), code


def test_every_indicator_of_penalolen_matches_the_hand_computation() -> None:
    """Peñalolén's fixture (feed of 20 nov 2026, population 266,798), year 2025, from its records."""
    # Milestones due in 2025, none cancelled (7): verde-h2 (31 mar, done 12 mar), inclusion-h2 (31 dec,
    # delayed), conectados-h2 (30 jun, done 27 jun), conectados-h3 (31 dec, done 19 dec), inclusion-h5
    # (31 jul, done that day), verde-h5 (30 sep, done 14 oct: 14 days late, no evidence), conectados-h5
    # (30 nov, done 5 dec: 5 days late). 6 completed, 4 of them on time; inclusion-h2 is overdue.
    # Events of 2025: foro-2025-1 (hybrid, involve = 3, 23 people, 13 women), cuenta-2025 (in person,
    # inform = 1, 520, 301 women), taller-inclusion-2025 (online, involve = 3, 46, 29 women); all with
    # minutes. Their inputs: a-005 (evaluating, no answer), a-006 accepted (answered 20 may, 28 days after
    # the forum of 22 apr), a-007 accepted and a-008 rejected (5 sep, 20 days after the workshop of 16
    # aug), a-009 partially accepted (30 sep, 45 days), a-010 withdrawn, a-011 rejected (20 may, 28 days).
    # IRM in 2025: verde substantial / marginal, inclusion limited / major, conectados complete / outstanding.
    _every_indicator(
        PENALOLEN,
        "2025",
        {
            "hitos_a_tiempo": 100 * 4 / 7,
            "hitos_cumplidos": 100 * 6 / 7,
            "dias_atraso_promedio": (0 + 0 + 0 + 0 + 14 + 5) / 6,
            "hitos_vencidos": 100 * 1 / 7,
            "hitos_con_evidencia": 100 * 5 / 6,  # 6 completed in 2025, verde-h5 without evidence
            "hitos_cancelados": 0.0,
            "compromisos_vigentes": 3,  # verde, inclusion, conectados: 2024 to 2026
            "avance_compromisos": (62.5 + 50 + 75) / 3,
            "compromisos_sustanciales": 100 * 2 / 3,  # substantial, complete
            "compromisos_abrieron_gobierno": 100 * 2 / 3,  # major, outstanding
            "pilares_cubiertos": 4,  # participation, transparency, accountability, innovation
            "compromisos_con_presupuesto": 100 * 2 / 3,  # verde and conectados
            "eventos_participacion": 3,
            "participacion_por_mil": 1000 * (23 + 520 + 46) / 266_798,
            "eventos_hibridos_o_en_linea": 100 * 2 / 3,
            "participacion_mujeres": 100 * (13 + 301 + 29) / (23 + 520 + 46),
            "eventos_con_acta": 100.0,
            "sesiones_foro": 1,
            "nivel_iap2_promedio": (3 + 1 + 3) / 3,
            "aportes_con_respuesta": 100 * 5 / 6,  # 6 not withdrawn, a-005 unanswered
            "aportes_acogidos": 100 * 3 / 5,  # decided: a-006, a-007, a-008, a-009, a-011; 3 taken up
            "dias_respuesta_mediana": 28,  # median of 28, 20, 20, 45, 28
            "aportes_por_evento": 7 / 3,
            "indicadores_reportados": 100.0,  # 6 indicators, each observed in 2025
            "metodologias_compartidas": 1,  # mesas-territoriales (2026, the feed's year)
            "metodologias_adoptadas": 0,
            "transparencia_activa": 94.6,  # PEN-TA, 2025
            "sai_en_plazo": 90.5,  # PEN-SAI-PLAZO-ANUAL, 2025
            "sai_dias_mediana": 11.0,  # PEN-SAI-DIAS, 2025
            "cuenta_publica_participativa": 1,
        },
    )


def test_every_indicator_of_maipu_matches_the_hand_computation() -> None:
    """Maipú's fixture (feed of 20 nov 2026, population 578,605), year 2025, from its records."""
    # Milestones due in 2025 (6): presupuesto-h2 (31 may), datos-h1 (31 jan), datos-h2 (31 aug),
    # integridad-h1 (31 mar), each done that day with evidence; integridad-h2 (31 oct, delayed, overdue);
    # datos-h3 (30 nov, done 10 dec: 10 days late, with evidence).
    # Events of 2025: votacion-2025 (hybrid, empower = 5, 18,450 people, 10,020 women), foro-2025 (online,
    # involve = 3, 19, 11 women), cuenta-2025 (in person, inform = 1, 1,210, 655 women, no minutes).
    # Inputs: m-03 partially accepted (1 oct, 28 days after the forum of 3 sep), m-04 accepted and m-05
    # rejected (9 jun, 30 days after the vote of 10 may), m-06 withdrawn, m-07 accepted (30 may, 34 days
    # after the account of 26 apr), m-08 rejected (1 jul, 52 days).
    _every_indicator(
        MAIPU,
        "2025",
        {
            "hitos_a_tiempo": 100 * 4 / 6,
            "hitos_cumplidos": 100 * 5 / 6,
            "dias_atraso_promedio": (0 + 0 + 0 + 0 + 10) / 5,
            "hitos_vencidos": 100 * 1 / 6,
            "hitos_con_evidencia": 100.0,  # 5 completed in 2025, all with evidence
            "hitos_cancelados": 0.0,
            "compromisos_vigentes": 3,
            "avance_compromisos": (70 + 100 + 33.3) / 3,
            "compromisos_sustanciales": 100.0,  # presupuesto complete, datos substantial
            "compromisos_abrieron_gobierno": 100.0,  # outstanding, major
            "pilares_cubiertos": 4,
            "compromisos_con_presupuesto": 100 * 1 / 3,  # presupuesto only
            "eventos_participacion": 3,
            "participacion_por_mil": 1000 * (18_450 + 19 + 1_210) / 578_605,
            "eventos_hibridos_o_en_linea": 100 * 2 / 3,
            "participacion_mujeres": 100 * (10_020 + 11 + 655) / (18_450 + 19 + 1_210),
            "eventos_con_acta": 100 * 2 / 3,
            "sesiones_foro": 1,
            "nivel_iap2_promedio": (5 + 3 + 1) / 3,
            "aportes_con_respuesta": 100.0,  # 5 not withdrawn, all answered
            "aportes_acogidos": 100 * 3 / 5,  # m-03, m-04, m-07 of 5 decided
            "dias_respuesta_mediana": 30,  # median of 28, 30, 30, 34, 52
            "aportes_por_evento": 6 / 3,
            "indicadores_reportados": 100.0,  # 5 indicators, each observed in 2025
            "metodologias_compartidas": 1,
            "metodologias_adoptadas": 1,  # mesas-verdes-maipu, adopted from Peñalolén (13122)
            "transparencia_activa": 90.1,
            "sai_en_plazo": 95.2,
            "sai_dias_mediana": 8.0,
            "cuenta_publica_participativa": 1,
        },
    )


def test_every_indicator_of_renca_matches_the_hand_computation() -> None:
    """Renca's fixture (feed of 20 nov 2026, population 160,847), year 2024, the first plan's last year."""
    # Milestones due in 2024 (6): p1-compras-h2 (15 dec, done that day), p1-compras-h3 (30 jun, done 15 jul:
    # 15 late), p1-compras-h4 (31 oct, done 12 nov: 12 late), p1-cuentas-h1 (30 apr, that day), p1-cuentas-h2
    # (31 aug, done 30 aug, no evidence), p1-cuentas-h3 (30 nov, cancelled: counted only as cancelled).
    # Events of 2024: cuenta-2024-norte (in person, inform = 1, 210, 118 women), cuenta-2024-sur (hybrid,
    # consult = 2, 185, 97 women), foro-2024 (online, collaborate = 4, 19, 11 women, no minutes).
    # Inputs: r-02 accepted (17 may, 20 days after 27 apr), r-03 partially accepted (27 may, 30 days), r-04
    # accepted (13 sep, 20 days after 24 aug), r-05 rejected (4 oct, 41 days), r-06 evaluating, r-07
    # accepted (30 dec, 20 days after 10 dec).
    _every_indicator(
        RENCA,
        "2024",
        {
            "hitos_a_tiempo": 100 * 3 / 5,
            "hitos_cumplidos": 100.0,
            "dias_atraso_promedio": (0 + 15 + 12 + 0 + 0) / 5,
            "hitos_vencidos": 0.0,
            "hitos_con_evidencia": 100 * 4 / 5,
            "hitos_cancelados": 100 * 1 / 6,  # of all 6 due, cancelled included
            "compromisos_vigentes": 2,  # p1-compras and p1-cuentas (p2-barrios starts in 2026)
            "avance_compromisos": (100 + 80) / 2,
            "compromisos_sustanciales": 100 * 1 / 2,  # compras complete, cuentas limited
            "compromisos_abrieron_gobierno": 100 * 1 / 2,  # major, marginal
            "pilares_cubiertos": 3,  # transparency, accountability, participation
            "compromisos_con_presupuesto": 100 * 1 / 2,
            "eventos_participacion": 3,
            "participacion_por_mil": 1000 * (210 + 185 + 19) / 160_847,
            "eventos_hibridos_o_en_linea": 100 * 2 / 3,
            "participacion_mujeres": 100 * (118 + 97 + 11) / (210 + 185 + 19),
            "eventos_con_acta": 100 * 2 / 3,
            "sesiones_foro": 1,
            "nivel_iap2_promedio": (1 + 2 + 4) / 3,
            "aportes_con_respuesta": 100 * 5 / 6,
            "aportes_acogidos": 100 * 4 / 5,  # r-02, r-03, r-04, r-07 of 5 decided
            "dias_respuesta_mediana": 20,  # median of 20, 30, 20, 41, 20
            "aportes_por_evento": 6 / 3,
            "indicadores_reportados": 100.0,  # 4 indicators, each observed in 2024
            "metodologias_compartidas": 0,
            "metodologias_adoptadas": 0,
            "transparencia_activa": 79.5,  # REN-TA, 2024
            "sai_en_plazo": 81.0,
            "sai_dias_mediana": 14.0,
            "cuenta_publica_participativa": 2,  # north and south
        },
    )


def test_below_the_minimum_denominator_nothing_is_computed_and_an_unfinished_year_is_provisional() -> None:
    values = _values(MAIPU)
    # 2024 has 1 milestone due (presupuesto-h1): below the minimum of 5, so no on-time rate at all.
    assert ("hitos_a_tiempo", "2024") not in values
    # 2026 has not ended at the feed's date: its values are provisional, 2025's are final.
    provisional = {(d.code, d.period): d.provisional for d in derive(MAIPU)}
    assert provisional[("compromisos_vigentes", "2026")] is True
    assert provisional[("compromisos_vigentes", "2025")] is False


def test_a_late_milestone_counts_its_days_and_leaves_the_on_time_rate() -> None:
    days = {"datos-h2": 10, "integridad-h2": 20}  # datos-h2 done 10 days late; integridad-h2 done 20 days late
    late = [
        msgspec.structs.replace(
            m, status=MilestoneStatus.COMPLETED, progress=100, completed_on=m.due + timedelta(days=days[m.id])
        )
        if m.id in days
        else m
        for m in MAIPU.milestones
    ]
    values = _values(msgspec.structs.replace(MAIPU, milestones=late))
    # 6 due in 2025: presupuesto-h2, datos-h1 and integridad-h1 on time; datos-h2 10, integridad-h2 20 and
    # datos-h3 (already) 10 days late.
    assert values[("hitos_a_tiempo", "2025")] == 100 * 3 / 6
    assert values[("hitos_cumplidos", "2025")] == 100 * 6 / 6
    assert values[("dias_atraso_promedio", "2025")] == pytest.approx((0 + 0 + 10 + 0 + 20 + 10) / 6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=60))
def test_quantiles_agree_with_the_standard_library(values: list[float]) -> None:
    """Type 7 is Python's ``statistics.quantiles(method="inclusive")``: an independent computation."""
    ordered = sorted(values)
    summary = summarise(values)
    if len(values) >= 2:
        q = statistics.quantiles(values, n=4, method="inclusive")
        deciles = statistics.quantiles(values, n=10, method="inclusive")
        assert summary.q1 == pytest.approx(q[0], abs=1e-6)
        assert summary.median == pytest.approx(q[1], abs=1e-6)
        assert summary.q3 == pytest.approx(q[2], abs=1e-6)
        assert summary.p10 == pytest.approx(deciles[0], abs=1e-6)
        assert summary.p90 == pytest.approx(deciles[-1], abs=1e-6)
    assert summary.median == pytest.approx(statistics.median(values), abs=1e-6)
    assert summary.mean == pytest.approx(statistics.fmean(values), abs=1e-3)
    assert (summary.min, summary.max) == (ordered[0], ordered[-1])
    assert quantile(ordered, 0.0) == ordered[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20).map(float), min_size=1, max_size=40))
def test_the_fast_ranker_equals_the_definition(values: list[float]) -> None:
    for direction in ("higher_better", "lower_better", "neutral"):
        ranker = Ranker(values, direction)
        assert [ranker.rank(v) for v in values] == [rank(v, values, direction) for v in values]


def test_ranks_share_ties_and_follow_the_direction() -> None:
    values = [10.0, 20.0, 20.0, 30.0]
    assert [rank(v, values, "higher_better") for v in values] == [4, 2, 2, 1]
    assert [rank(v, values, "lower_better") for v in values] == [1, 2, 2, 4]
    assert rank(10.0, values, "neutral") is None


async def _seed(database_url: str, values: dict[str, float], *, code: str = "hitos_a_tiempo") -> None:
    """Store values of ``code`` for 2025 directly (the store is a plain table: no harvest needed)."""
    now = datetime(2026, 1, 10, tzinfo=UTC)
    rows = [
        {
            "cut": cut,
            "code": code,
            "period": "2025",
            "period_start": date(2025, 1, 1),
            "period_end": date(2025, 12, 31),
            "value": value,
            "unit": "%",
            "denominator": 10,
            "provisional": False,
            "source": "derived",
            "version_id": 1,
            "observed_at": now,
            "valid_from": now,
            "valid_to": None,
        }
        for cut, value in values.items()
    ]
    async with aggregator(database_url) as runtime, runtime.db.transaction() as session:
        await session.execute(insert(BenchObservation), rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_comparison_equals_an_independent_computation_on_both_databases(database_url: str, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 (test data)
    async with aggregator(database_url) as runtime, runtime.db.sessions() as session:
        region = [c.cut for c in (await session.scalars(select(Commune).where(Commune.region_cut == "13"))).all()]
    chosen = rng.sample(region, 30)
    values = {cut: round(rng.uniform(0, 100), 3) for cut in chosen}
    values[chosen[0]] = values[chosen[1]]  # a tie
    await _seed(database_url, values)
    async with aggregator(database_url) as runtime:
        result = await runtime.benchmarks.compare("hitos_a_tiempo", period="2025", group="region:13", cut=chosen[0])
    expected = statistics.quantiles(values.values(), n=4, method="inclusive")
    assert result.reporting == 30
    assert result.members == len(region)
    assert result.coverage == pytest.approx(30 / len(region))
    assert result.distribution.median == pytest.approx(expected[1])
    assert result.distribution.q1 == pytest.approx(expected[0])
    assert result.distribution.q3 == pytest.approx(expected[2])
    mine = values[chosen[0]]
    better = sum(1 for cut, v in values.items() if v > mine)
    assert result.commune is not None
    assert result.commune.rank == 1 + better
    others = [v for cut, v in values.items() if cut != chosen[0]]
    assert result.commune.better_than_percent == pytest.approx(100 * sum(1 for v in others if v < mine) / 29)
    assert [v.rank for v in result.values] == sorted(v.rank for v in result.values if v.rank is not None)


async def test_outliers_are_flagged_by_tukeys_fences(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    values = {f"131{i:02d}": 50.0 + i for i in range(1, 11)}
    values["13101"] = 500.0
    await _seed(database_url, values)
    async with aggregator(database_url) as runtime:
        result = await runtime.benchmarks.compare("hitos_a_tiempo", period="2025")
    flagged = {v.cut for v in result.values if v.outlier}
    assert flagged == {"13101"}


def _feed_version(feed: Any, sequence: int, when: datetime, completed: set[str]) -> bytes:
    milestones = [
        msgspec.structs.replace(m, status=MilestoneStatus.COMPLETED, completed_on=m.due, progress=100)
        if m.id in completed
        else m
        for m in feed.milestones
    ]
    return encode(msgspec.structs.replace(feed, sequence=sequence, generated_at=when, milestones=milestones))


async def _rows(runtime: Any) -> list[tuple[Any, ...]]:
    async with runtime.db.sessions() as session:
        rows = (await session.scalars(select(BenchObservation))).all()
    return sorted(
        (r.cut, r.code, r.period, r.value, r.denominator, r.provisional, r.version_id, r.valid_from, r.valid_to)
        for r in rows
    )


async def test_the_store_follows_the_harvest_travels_in_time_and_rebuilds_the_same(database_url: str) -> None:
    """Three accepted versions of Maipú: the open rows change with each; as_of sees each in turn, and the
    current comparison and profile (read through the process's shared values) show each at once."""
    node = FakeNode("13119")
    node.publish(17, (FEEDS / "maipu.json").read_bytes())
    async with fake_nodes() as server, aggregator(database_url, min_group_size=1) as runtime:
        server.add(node)
        await runtime.registry.add_node("13119", server.base("13119"), trust_fetched_keys=True)
        moments = []
        current: list[tuple[float, float | None]] = []
        for sequence, done in ((17, set()), (18, {"integridad-h2"}), (19, {"integridad-h2", "presupuesto-h3"})):
            if sequence > 17:
                when = MAIPU.generated_at + timedelta(days=sequence - 17)
                node.publish(sequence, _feed_version(MAIPU, sequence, when, done))
                await make_due(runtime, "13119")
            await runtime.scheduler.tick()
            moments.append(datetime.now(UTC))
            compared = await runtime.benchmarks.compare("hitos_cumplidos", period="2025")
            profile = await runtime.benchmarks.profile("13119")
            entry = next(e for e in profile.indicators if e.code == "hitos_cumplidos")
            current.append((compared.values[0].value, entry.standing.value if entry.standing else None))
        seen = [
            (await runtime.benchmarks.compare("hitos_vencidos", period="2025", as_of=m)).values[0].value
            for m in moments
        ]
        now = await runtime.benchmarks.compare("hitos_cumplidos", period="2025")
        then = [
            (await runtime.benchmarks.compare("hitos_cumplidos", period="2025", as_of=m)).values[0].value
            for m in moments
        ]
        incremental = await _rows(runtime)
        written = await runtime.benchmarks.rebuild()
        rebuilt = await _rows(runtime)
    assert seen == [pytest.approx(100 / 6), 0.0, 0.0]  # 1 of 6 due in 2025 overdue; integridad-h2 done in 18
    assert now.values[0].value == 100.0
    assert [value for value, _ in current] == [value for _, value in current]
    assert current == [(pytest.approx(500 / 6),) * 2, (100.0, 100.0), (100.0, 100.0)]  # each version at once
    assert [value for value, _ in current] == then
    assert rebuilt == incremental
    assert written == len(incremental)
    closed = [row for row in incremental if row[-1] is not None]
    assert closed, "a changed value closes the row it replaces"
    # unchanged values keep the row of the version they first came from
    assert any(row[1] == "eventos_participacion" and row[6] == min(r[6] for r in incremental) for row in incremental)


async def _broken(writer: Any, headers: dict[str, str]) -> None:
    writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\nConnection: close\r\n\r\nbroken")
    await writer.drain()


async def test_a_commune_whose_node_breaks_keeps_its_last_values_marked_with_their_age(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    node = FakeNode("13119")
    node.publish(17, (FEEDS / "maipu.json").read_bytes())
    async with fake_nodes() as server, aggregator(database_url, min_group_size=1) as runtime:
        server.add(node)
        await runtime.registry.add_node("13119", server.base("13119"), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        node.behaviour = _broken
        await make_due(runtime, "13119")
        await runtime.scheduler.tick()
        later = datetime.now(UTC) + timedelta(days=40)
        result = await runtime.benchmarks.compare("hitos_cumplidos", period="2025", as_of=later)
    assert result.values[0].value == pytest.approx(100 * 5 / 6)  # the last good version's value
    assert result.values[0].age_days >= (later - MAIPU.generated_at).days


async def _api(tmp_path: Path, **overrides: Any) -> AsyncTestClient[Any]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
    await prepare_database(database_url)
    await _seed(database_url, {f"131{i:02d}": float(i) for i in range(1, 9)})
    return AsyncTestClient(app=create_app(agg_settings(database_url, **overrides)))


async def test_the_api_serves_catalogue_comparison_csv_and_profile(tmp_path: Path) -> None:
    async with await _api(tmp_path) as http:
        listed = await http.get("/api/v1/indicators")
        compared = await http.get("/api/v1/indicators/hitos_a_tiempo/comparison?period=2025&cut=13105")
        download = await http.get("/api/v1/indicators/hitos_a_tiempo/comparison.csv?period=2025")
        profile = await http.get("/api/v1/communes/13105/profile")
    assert listed.status_code == 200
    assert len(listed.json()["indicator"]) >= 25
    body = compared.json()
    assert compared.status_code == 200
    assert (body["reporting"], body["distribution"]["median"]) == (8, 4.5)
    assert body["commune"]["rank"] == 4  # 8, 7, 6 are better than 5
    assert download.headers["content-type"].startswith("text/csv")
    assert download.content.startswith("\ufeffcut,comuna".encode())
    assert download.text.count("\n") == 9
    entries = {e["code"]: e for e in profile.json()["indicators"]}
    assert entries["hitos_a_tiempo"]["standing"]["value"] == 5.0
    assert entries["hitos_cumplidos"]["note_en"].startswith("no value")


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/v1/indicators/no_existe/comparison", 404, None),
        ("/api/v1/indicators/hitos_a_tiempo/comparison?group=planeta:3", 422, "group"),
        ("/api/v1/indicators/hitos_a_tiempo/comparison?group=region:99", 422, "group"),
        ("/api/v1/indicators/hitos_a_tiempo/comparison?group=poblacion:x", 422, "group"),
        ("/api/v1/indicators/hitos_a_tiempo/comparison?group=similares:13105", 422, "group"),  # no population
        ("/api/v1/indicators/hitos_a_tiempo/comparison?period=2025-13", 422, "period"),
        ("/api/v1/indicators/hitos_a_tiempo/comparison?period=2025&group=provincia:132", 422, "group"),  # 0 report
        ("/api/v1/indicators/hitos_a_tiempo/comparison?as_of=ayer", 400, None),
        ("/api/v1/indicators/hitos_a_tiempo/comparison?as_of=2026-01-01T00:00:00", 422, "as_of"),
        ("/api/v1/indicators/HITOS/comparison", 400, None),
        ("/api/v1/communes/99999/profile", 404, None),
    ],
)
async def test_bad_requests_get_a_clear_problem(tmp_path: Path, url: str, status: int, field: str | None) -> None:
    async with await _api(tmp_path) as http:
        answer = await http.get(url)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert any(error["path"] == field for error in answer.json()["errors"])


async def test_a_group_below_the_minimum_is_not_summarised(tmp_path: Path) -> None:
    async with await _api(tmp_path, min_group_size=10) as http:
        answer = await http.get("/api/v1/indicators/hitos_a_tiempo/comparison?period=2025")
        profile = await http.get("/api/v1/communes/13105/profile")
    assert answer.status_code == 422
    assert answer.json()["type"].endswith("benchmarks.group_too_small")
    assert "8" in answer.json()["message"]
    entry = next(e for e in profile.json()["indicators"] if e["code"] == "hitos_a_tiempo")
    assert entry["distribution"] is None
    assert entry["standing"]["value"] == 5.0


async def test_mixed_units_are_refused(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    await _seed(database_url, {f"131{i:02d}": float(i) for i in range(1, 9)})
    async with aggregator(database_url) as runtime:
        async with runtime.db.transaction() as session:
            row = await session.scalar(select(BenchObservation).limit(1))
            assert row is not None
            row.unit = "días"
        with pytest.raises(Exception, match="different units"):
            await runtime.benchmarks.compare("hitos_a_tiempo", period="2025")


def test_the_command_line_compares_and_profiles(tmp_path: Path) -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from ogp_federation.cli import cli  # noqa: PLC0415

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    asyncio.run(prepare_database(database_url))
    asyncio.run(_seed(database_url, {f"131{i:02d}": float(i) for i in range(1, 9)}))
    env = {"OGP_AGG_DATABASE_URL": database_url, "OGP_AGG_SCHEDULER": "false"}
    runner = CliRunner()
    compared = runner.invoke(cli, ["aggregator", "compare", "hitos_a_tiempo", "--cut", "13105"], env=env)
    english = runner.invoke(cli, ["aggregator", "compare", "hitos_a_tiempo"], env={**env, "OGP_LANG": "en"})
    profile = runner.invoke(cli, ["aggregator", "profile", "13105"], env=env)
    unknown = runner.invoke(cli, ["aggregator", "compare", "no_existe"], env=env)
    bad_moment = runner.invoke(cli, ["aggregator", "compare", "hitos_a_tiempo", "--as-of", "2026-01-01"], env=env)
    rebuilt = runner.invoke(cli, ["aggregator", "benchmarks", "rebuild"], env=env)
    assert compared.exit_code == 0, compared.output
    assert "8 de 346 comunas con valor" in compared.output
    assert "mediana 4,5" in compared.output  # Chilean decimal comma
    assert "13105: valor 5, posición 4" in compared.output
    assert english.exit_code == 0
    assert "8 of 346 communes reporting" in english.output
    assert "median 4.5" in english.output
    assert profile.exit_code == 0
    assert "Hitos cumplidos a tiempo" in profile.output
    assert unknown.exit_code == 2
    assert "indicador desconocido" in unknown.output
    assert bad_moment.exit_code == 2
    assert "huso horario" in bad_moment.output
    assert rebuilt.exit_code == 0
    assert "0 valores en el almacén" in rebuilt.output  # no harvested history: the seeded rows are gone


def _own_indicators(feed: Any) -> Any:
    """``feed`` without its indicators mapped to the catalogue (and their observations)."""
    mapped = {i.code for i in feed.indicators if i.catalogue_code is not None}
    return msgspec.structs.replace(
        feed,
        indicators=[i for i in feed.indicators if i.code not in mapped],
        observations=[o for o in feed.observations if o.indicator_code not in mapped],
    )


def _mapped_feed() -> Any:
    """Maipú with two indicators mapped to the catalogue: one in its unit, one not."""
    from ogp_federation.feed.enums import Direction, Frequency, ObservationStatus, Pillar  # noqa: PLC0415
    from ogp_federation.feed.model import Indicator, Observation  # noqa: PLC0415

    def indicator(code: str, unit: str) -> Indicator:
        return Indicator(
            code=code,
            name=code,
            unit=unit,
            direction=Direction.HIGHER_BETTER,
            pillar=Pillar.TRANSPARENCY_ACCESS_INFORMATION,
            frequency=Frequency.ANNUAL,
            catalogue_code="transparencia_activa" if code == "ta" else "sai_en_plazo",
        )

    def observation(code: str, start: date, end: date, value: float) -> Observation:
        return Observation(
            id=f"{code}-{start}",
            indicator_code=code,
            period_start=start,
            period_end=end,
            value=value,
            status=ObservationStatus.FINAL,
        )

    own = _own_indicators(MAIPU)
    return msgspec.structs.replace(
        own,
        indicators=[*own.indicators, indicator("ta", "%"), indicator("sai", "días")],
        observations=[
            *own.observations,
            observation("ta", date(2024, 1, 1), date(2024, 12, 31), 87.5),
            observation("ta", date(2025, 1, 1), date(2025, 6, 30), 90.0),  # half a year: not compared
            observation("sai", date(2024, 1, 1), date(2024, 12, 31), 12.0),  # days, catalogue says %
        ],
    )


def test_published_indicators_mapped_to_the_catalogue_enter_the_store_in_its_unit_only() -> None:
    from ogp_federation.aggregator.benchmarks.store import _published  # noqa: PLC0415
    from ogp_federation.feed import validate  # noqa: PLC0415

    feed = _mapped_feed()
    published = _published(feed)
    assert [(p.code, p.period, p.value, p.provisional) for p in published] == [
        ("transparencia_activa", "2024", 87.5, False)
    ]
    report = validate(encode(feed))
    assert report.valid
    rules = {(f.rule, f.path) for f in report.findings}
    assert ("indicator.catalogue_unit", f"$.indicators[{len(_own_indicators(MAIPU).indicators) + 1}].unit") in rules


def test_a_plan_feed_1_0_document_stays_valid_and_1_1_adds_the_catalogue_code() -> None:
    from ogp_federation.feed import SPEC_VERSION, validate  # noqa: PLC0415

    original = msgspec.json.decode((FEEDS / "maipu.json").read_bytes())
    assert original["spec_version"] == "1.1"
    old = msgspec.to_builtins(_own_indicators(MAIPU))  # what a 1.0 node publishes: no catalogue codes
    old["spec_version"] = "1.0"
    assert all("catalogue_code" not in indicator for indicator in old["indicators"])
    assert validate(msgspec.json.encode(old)).valid
    assert SPEC_VERSION == "1.1"
    assert validate(encode(_mapped_feed())).valid


async def test_a_batch_of_versions_stores_what_one_at_a_time_does(database_url: str) -> None:
    """The harvest hands a batch of communes at once; the set-based path must equal the one-by-one path."""
    from ogp_federation.aggregator.benchmarks.store import keep_current  # noqa: PLC0415
    from ogp_federation.aggregator.history import AcceptedFeed  # noqa: PLC0415

    feeds = [decode((FEEDS / f"{name}.json").read_bytes()) for name in ("penalolen", "maipu", "renca")]
    moment = datetime(2026, 11, 21, tzinfo=UTC)
    batch = [AcceptedFeed(f.publisher.cut, index + 1, moment, f) for index, f in enumerate(feeds)]
    later = [
        AcceptedFeed(item.cut, item.version_id + 10, moment + timedelta(days=1), _mapped_feed())
        if item.cut == "13119"
        else item
        for item in batch
    ]
    results = []
    for together in (True, False):
        async with aggregator(database_url) as runtime:
            async with runtime.db.transaction() as session:
                await session.execute(delete(BenchObservation))
            for step in (batch, later):
                async with runtime.db.transaction() as session:
                    if together:
                        await keep_current(session, step)
                    else:
                        for item in step:
                            await keep_current(session, [item])
            results.append(await _rows(runtime))
    assert results[0] == results[1]
    assert {row[0] for row in results[0]} == {"13122", "13119", "13128"}
    assert any(row[1] == "transparencia_activa" for row in results[0])  # Maipú's published value came in


def test_irm_ratings_count_each_commitments_latest_independent_assessment_of_the_year() -> None:
    from ogp_federation.feed.enums import (  # noqa: PLC0415
        AssessmentKind,
        AssessmentStage,
        Completion,
        Entity,
        OpenGovernmentEffect,
    )
    from ogp_federation.feed.model import Assessment  # noqa: PLC0415

    def rated(  # noqa: PLR0917 (one assessment per line below)
        key: str, kind: AssessmentKind, target: str, on: date, completion: Completion, effect: OpenGovernmentEffect
    ) -> Assessment:
        return Assessment(
            id=key,
            kind=kind,
            target_entity=Entity.COMMITMENTS,
            target_id=target,
            stage=AssessmentStage.MIDTERM,
            assessor="IRM",
            assessed_on=on,
            completion=completion,
            did_it_open_government=effect,
        )

    independent, own = AssessmentKind.INDEPENDENT, AssessmentKind.SELF
    assessments = [
        # datos: limited in March, then substantial in October (the latest counts), marginal effect
        rated("a1", independent, "datos", date(2025, 3, 1), Completion.LIMITED, OpenGovernmentEffect.MARGINAL),
        rated("a2", independent, "datos", date(2025, 10, 1), Completion.SUBSTANTIAL, OpenGovernmentEffect.MARGINAL),
        # integridad: complete, major effect
        rated("a3", independent, "integridad", date(2025, 6, 1), Completion.COMPLETE, OpenGovernmentEffect.MAJOR),
        # presupuesto: only a self-assessment, which the IRM indicators do not count
        rated("a4", own, "presupuesto", date(2025, 6, 1), Completion.COMPLETE, OpenGovernmentEffect.OUTSTANDING),
    ]
    values = _values(msgspec.structs.replace(MAIPU, assessments=assessments))
    assert values[("compromisos_sustanciales", "2025")] == 100 * 2 / 2  # datos (substantial), integridad
    assert values[("compromisos_abrieron_gobierno", "2025")] == 100 * 1 / 2  # integridad major; datos marginal


def test_synthetic_communes_differ_like_a_federation_and_say_they_are_synthetic() -> None:
    """Every fourth commune's synthetic plan: valid, marked synthetic, and spread (not one flat value)."""
    from collections import defaultdict  # noqa: PLC0415

    from ogp_federation.aggregator.benchmarks.store import _published  # noqa: PLC0415
    from ogp_federation.feed import validate  # noqa: PLC0415
    from ogp_federation.feed.reference import CommuneReference  # noqa: PLC0415
    from ogp_federation.feed.synth import generate_feed  # noqa: PLC0415

    cuts = [commune.cut for commune in CommuneReference.packaged()][::4]
    feeds = [generate_feed(cut, commitments=8, seed=1) for cut in cuts]
    assert all(feed.synthetic for feed in feeds)
    assert all("(sintético)" in feed.action_plans[0].title for feed in feeds)
    assert all(validate(encode(feed)).valid for feed in feeds[:25])
    values: dict[str, dict[str, float]] = defaultdict(dict)
    for feed in feeds:
        for d in [*derive(feed), *_published(feed)]:
            if d.period == "2025":
                values[d.code][feed.publisher.cut] = d.value
    spread = ("hitos_a_tiempo", "participacion_por_mil", "aportes_con_respuesta", "dias_respuesta_mediana")
    for code in (*spread, "transparencia_activa", "participacion_mujeres", "eventos_hibridos_o_en_linea"):
        observed = list(values[code].values())
        assert len(observed) >= 0.6 * len(cuts), code  # (below a catalogue minimum a value is not computed)
        q1, _, q3 = statistics.quantiles(observed, n=4)
        assert q3 > q1, f"{code} is flat"
        assert len(set(observed)) > len(observed) / 4, code
    # One capacity drives a commune's indicators together, as in a real federation: the communes that
    # complete milestones on time also answer their citizens.
    answered = values["aportes_con_respuesta"]
    both = [(v, answered[cut]) for cut, v in values["hitos_a_tiempo"].items() if cut in answered]
    assert statistics.correlation([a for a, _ in both], [b for _, b in both]) > 0.2
    populations = [feed.publisher.population.value for feed in feeds if feed.publisher.population]
    assert statistics.mean(populations) > statistics.median(populations)  # a few large communes, many small


async def test_values_from_synthetic_feeds_are_marked_in_comparisons_profiles_and_downloads(database_url: str) -> None:
    from ogp_federation.aggregator.benchmarks.downloads import comparison_csv  # noqa: PLC0415
    from ogp_federation.aggregator.benchmarks.store import keep_current  # noqa: PLC0415
    from ogp_federation.aggregator.history import AcceptedFeed  # noqa: PLC0415
    from ogp_federation.feed.synth import generate_feed  # noqa: PLC0415

    moment = datetime(2026, 11, 21, tzinfo=UTC)
    synthetic = [generate_feed(cut, commitments=6, seed=2) for cut in ("13101", "13102", "13103", "13104")]
    accepted = [AcceptedFeed(f.publisher.cut, n + 1, moment, f) for n, f in enumerate([MAIPU, *synthetic])]
    async with aggregator(database_url) as runtime:
        async with runtime.db.transaction() as session:
            await keep_current(session, accepted)
        result = await runtime.benchmarks.compare("hitos_cumplidos", period="2025", cut="13119")
        fake = await runtime.benchmarks.profile("13101")
        real = await runtime.benchmarks.profile("13119")
    marked = {v.cut: v.synthetic for v in result.values}
    assert marked == {"13119": False, "13101": True, "13102": True, "13103": True, "13104": True}
    assert result.synthetic == 4
    assert (fake.synthetic, real.synthetic) == (True, False)
    rows = comparison_csv(result).decode("utf-8-sig").splitlines()
    assert rows[0].endswith(",sintetico")
    assert sum(row.endswith(",si") for row in rows[1:]) == 4


async def test_peer_groups_use_what_a_feed_declares_unless_the_operator_set_it(database_url: str) -> None:
    """Maipú's feed declares 578,605 inhabitants and SUBDERE group 1; the registry had neither."""
    node = FakeNode("13119")
    node.publish(17, (FEEDS / "maipu.json").read_bytes())
    async with fake_nodes() as server, aggregator(database_url, min_group_size=1) as runtime:
        server.add(node)
        await runtime.registry.add_node("13119", server.base("13119"), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        declared = await runtime.benchmarks.compare("hitos_cumplidos", period="2025", group="subdere:1")
        band = await runtime.benchmarks.compare("hitos_cumplidos", period="2025", group="poblacion:5")
        async with runtime.db.sessions() as session:
            commune = await session.get(Commune, "13119")
            assert commune is not None
            seen = (commune.population, commune.declared_population, commune.declared_subdere_group)
        await runtime.registry.set_attributes("13119", subdere_group=2)  # the operator's value wins
        overridden = await runtime.benchmarks.compare("hitos_cumplidos", period="2025", group="subdere:2")
        with pytest.raises(Exception, match="no commune belongs to that group"):
            await runtime.benchmarks.compare("hitos_cumplidos", period="2025", group="subdere:1")
    assert seen == (None, 578_605, 1)
    assert [v.cut for v in declared.values] == ["13119"]
    assert [v.cut for v in band.values] == ["13119"]  # above the last default band limit
    assert [v.cut for v in overridden.values] == ["13119"]
