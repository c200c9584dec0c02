"""The methodology library: Spanish search on both databases, filters, pages, tombstones, hostile queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text

from agg_helpers import FakeNode, aggregator, fake_nodes, make_due
from agg_helpers import test_settings as agg_settings
from conftest import FEEDS
from ogp_federation.aggregator.app import create_app
from ogp_federation.aggregator.history import FeedVersion
from ogp_federation.aggregator.library import Filters
from ogp_federation.aggregator.library.text import any_of, fts5_match, highlight, parse, tsquery
from ogp_federation.core.errors import InvalidInputError
from ogp_federation.feed import decode, encode

COMMUNES = {"13122": "penalolen", "13119": "maipu", "13128": "renca"}


async def _harvested(runtime: Any, server: Any) -> dict[str, FakeNode]:
    nodes = {}
    for cut, name in COMMUNES.items():
        node = FakeNode(cut)
        node.publish(decode((FEEDS / f"{name}.json").read_bytes()).sequence, (FEEDS / f"{name}.json").read_bytes())
        server.add(node)
        await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
        nodes[cut] = node
    await runtime.scheduler.tick()
    return nodes


def _found(page: Any) -> list[tuple[str, str]]:
    return [(hit.cut, hit.key) for hit in page.hits]


async def test_spanish_search_treats_accents_plurals_and_verb_forms_on_both_databases(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _harvested(runtime, server)
        accents = await runtime.library.search("participacion colaboracion")
        plural = await runtime.library.search("presupuestos participativos")
        verb = await runtime.library.search("educar")
        phrase = await runtime.library.search('"mesas territoriales"')
        nothing = await runtime.library.search("astronautas submarinos")
        reversed_phrase = await runtime.library.search('"territoriales mesas"')
        methodologies = await runtime.library.search("mesas", Filters(kind="methodology"))
    # "presupuestos participativos" finds Maipú's commitment "Presupuesto participativo con seguimiento público"
    assert ("13119", "presupuesto") in _found(plural)[:3]
    assert "<mark>" in next(h for h in plural.hits if h.key == "presupuesto").title_html
    # written without accents, it finds Peñalolén's "más participación, más colaboración"
    assert ("13122", "verde") in _found(accents)
    # a verb finds its noun: "educar" finds "más educación"
    assert ("13122", "verde") in _found(verb)
    assert ("13122", "mesas-territoriales") in _found(phrase)[:2]
    assert reversed_phrase.total == 0  # a phrase keeps its order
    assert nothing.total == 0
    assert {hit.kind for hit in methodologies.hits} == {"methodology"}
    assert ("13119", "mesas-verdes-maipu") in _found(methodologies)


async def test_titles_rank_above_bodies_and_both_databases_agree_on_the_first_results(tmp_path: Path) -> None:
    """A judged set on the fixture communes: the entry judged best comes first on SQLite and PostgreSQL."""
    from conftest import fresh_pg_database  # noqa: PLC0415

    judged = {
        "presupuesto participativo con seguimiento": ("13119", "presupuesto"),
        "datos abiertos": ("13119", "datos"),
        "mesas territoriales ambientales": ("13122", "mesas-territoriales"),
        "compras municipales": ("13128", "p1-compras"),
        "integridad conflictos de interés": ("13119", "integridad"),
    }
    firsts: dict[str, list[tuple[str, str]]] = {}
    async with fresh_pg_database() as dsn:
        urls = {
            "sqlite": f"sqlite+aiosqlite:///{tmp_path / 'l.db'}",
            "postgresql": dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
        }
        for backend, url in urls.items():
            async with fake_nodes() as server, aggregator(url) as runtime:
                await _harvested(runtime, server)
                firsts[backend] = [_found(await runtime.library.search(q))[0] for q in judged]
    assert firsts["sqlite"] == list(judged.values())
    assert firsts["postgresql"] == list(judged.values())


async def test_filters_and_pages(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _harvested(runtime, server)
        everything = await runtime.library.search("plan OR gobierno OR comunidad OR municipal", limit=50)
        first = await runtime.library.search("plan OR gobierno OR comunidad OR municipal", limit=2)
        second = await runtime.library.search("plan OR gobierno OR comunidad OR municipal", limit=2, page=2)
        renca = await runtime.library.search("compras OR cuentas", Filters(region="13", kind="commitment"))
        completed = await runtime.library.search("compras", Filters(status="completed"))
        transparency = await runtime.library.search("datos", Filters(pillar="transparency_access_information"))
        licensed = await runtime.library.search("mesas", Filters(license="cc-by-4.0", kind="methodology"))
        group_one = await runtime.library.search("presupuesto", Filters(subdere=1))
        evidenced = await runtime.library.search("compras OR datos OR mesas", Filters(has_resources=True))
        bare = await runtime.library.search("compras OR datos OR mesas", Filters(has_resources=False))
        either = await runtime.library.search("compras OR datos OR mesas")
    assert everything.total >= 4
    assert _found(first) + _found(second) == _found(everything)[:4]
    assert {hit.cut for hit in renca.hits} <= {"13122", "13119", "13128"}
    assert all(hit.status == "completed" for hit in completed.hits)
    assert all("transparency_access_information" in hit.pillars for hit in transparency.hits)
    assert all((hit.license or "").lower() == "cc-by-4.0" for hit in licensed.hits)
    assert {hit.cut for hit in group_one.hits} <= {"13122", "13119"}  # both declare SUBDERE group 1
    assert evidenced.hits
    assert all(hit.has_resources for hit in evidenced.hits)
    assert all(not hit.has_resources for hit in bare.hits)
    assert evidenced.total + bare.total == either.total  # the filter splits the results, loses none


async def test_a_methodology_removed_by_a_tombstone_leaves_the_index(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        nodes = await _harvested(runtime, server)
        before = await runtime.library.search("mesas adaptadas", Filters(kind="methodology"))
        maipu = decode((FEEDS / "maipu.json").read_bytes())
        removed = msgspec.structs.replace(
            maipu,
            sequence=maipu.sequence + 1,
            generated_at=maipu.generated_at.replace(hour=10),
            methodologies=[],
            tombstones=[
                *maipu.tombstones,
                msgspec.convert(
                    {"entity": "methodologies", "id": "mesas-verdes-maipu", "deleted_at": "2026-11-20T10:00:00Z"},
                    type=type(maipu.tombstones[0]) if maipu.tombstones else _tombstone_type(),
                ),
            ],
        )
        nodes["13119"].publish(removed.sequence, encode(removed))
        await make_due(runtime, "13119")
        await runtime.scheduler.tick()
        after = await runtime.library.search("mesas adaptadas", Filters(kind="methodology"))
        rebuilt = await runtime.library.rebuild()
        again = await runtime.library.search("mesas adaptadas", Filters(kind="methodology"))
    assert ("13119", "mesas-verdes-maipu") in _found(before)
    assert ("13119", "mesas-verdes-maipu") not in _found(after)
    assert _found(again) == _found(after)
    assert rebuilt > 0


async def _index(runtime: Any) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """Every entry by (cut, kind, key): its row id, then what it shows and its search text as stored."""
    async with runtime.db.sessions() as session:
        postgres = (await session.connection()).dialect.name == "postgresql"
        search = "e.search::text" if postgres else "f.title || '|' || f.summary || '|' || f.body"
        join = "" if postgres else "JOIN library_fts f ON f.rowid = e.id"
        rows = await session.execute(
            text(
                "SELECT e.id, e.cut, e.kind, e.key, e.version_id, e.title, e.summary, e.body, e.status, "  # noqa: S608
                f"e.milestones, e.completed, {search} FROM library_entries e {join}"
            )
        )
        return {(r[1], r[2], r[3]): (r[0], *r[4:]) for r in rows}


async def test_a_new_version_indexes_only_what_changed_and_equals_a_rebuild(database_url: str) -> None:
    """One commitment of Maipú changes its title: that entry is written again, every other keeps its row
    (and takes the new version's id), and the index is then the same as one rebuilt from scratch."""
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        nodes = await _harvested(runtime, server)
        before = await _index(runtime)
        maipu = decode((FEEDS / "maipu.json").read_bytes())
        changed = maipu.commitments[0]
        renamed = msgspec.structs.replace(changed, title=changed.title + " (segunda etapa)")
        newer = msgspec.structs.replace(
            maipu,
            sequence=maipu.sequence + 1,
            generated_at=maipu.generated_at.replace(hour=11),
            commitments=[renamed, *maipu.commitments[1:]],
        )
        nodes["13119"].publish(newer.sequence, encode(newer))
        await make_due(runtime, "13119")
        await runtime.scheduler.tick()
        after = await _index(runtime)
        async with runtime.db.sessions() as session:
            version = await session.scalar(
                select(func.max(FeedVersion.id)).where(FeedVersion.cut == "13119", FeedVersion.status == "accepted")
            )
        await runtime.library.rebuild()
        rebuilt = await _index(runtime)
        found = await runtime.library.search("segunda etapa")
    key = ("13119", "commitment", changed.id)
    assert after[key][0] != before[key][0]
    assert "segunda etapa" in after[key][2]
    others = [k for k in after if k[0] == "13119" and k != key]
    assert others
    assert all(after[k][0] == before[k][0] for k in others)
    assert {after[k][1] for k in [key, *others]} == {version}  # …with the new version's id
    assert {k: v[1:] for k, v in after.items()} == {k: v[1:] for k, v in rebuilt.items()}
    assert ("13119", changed.id) in _found(found)


def _tombstone_type() -> Any:
    from ogp_federation.feed.model import Tombstone  # noqa: PLC0415

    return Tombstone


@pytest.mark.parametrize(
    "hostile",
    [
        "presupuesto' OR 1=1; DROP TABLE library_entries; --",
        'mesas "sin cerrar',
        "<script>alert(1)</script> OR mesas",
        "a:* & !b | (c <-> d)",
        'NEAR(mesas verdes) AND "x" NOT y*',
        "-mesas",
        "(((((((((((",
        "mesas " * 300,
    ],
)
async def test_hostile_queries_get_results_or_a_clear_problem(tmp_path: Path, hostile: str) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _harvested(runtime, server)
    async with AsyncTestClient(app=create_app(agg_settings(database_url))) as http:
        answer = await http.get("/api/v1/library/search", params={"q": hostile})
        huge = await http.get("/api/v1/library/search", params={"q": "x" * 10_000})
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["errors"][0]["path"] == "q"
    else:  # the JSON echoes the query as data; what is HTML is escaped
        for hit in answer.json()["hits"]:
            assert "<script" not in hit["title_html"] + hit["snippet_html"]
    assert huge.status_code in (400, 422)
    assert huge.headers["content-type"].startswith("application/problem+json")


async def test_bad_filters_are_refused_with_the_field_named(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"
    async with aggregator(database_url) as runtime:
        for filters, field in (
            (Filters(kind="receta"), "kind"),
            (Filters(pillar="magia"), "pillar"),
            (Filters(status="terminado"), "status"),
            (Filters(band=9), "band"),
        ):
            with pytest.raises(InvalidInputError) as caught:
                await runtime.library.search("mesas", filters)
            assert caught.value.errors[0]["path"] == field
        with pytest.raises(InvalidInputError) as empty:
            await runtime.library.search("de la el los")
        assert empty.value.errors[0]["path"] == "q"


def test_queries_reach_the_databases_as_letters_digits_and_operators_only() -> None:
    query = parse('presupuesto\' OR 1=1; -- "portal de transparencia" -basura')
    assert set(tsquery(query)) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ()|&!<>-:*")
    assert set(fts5_match(query).replace(" OR ", " ").replace(" AND ", " ").replace(" NOT ", " ")) <= set(
        'abcdefghijklmnopqrstuvwxyz0123456789 ()"*'
    )
    assert "(portal <-> transparent)" in tsquery(query)  # stems, and the index holds no stop words either
    described = any_of("Presupuesto' participativo; DROP TABLE x; -- {title}: barrio", most=6)
    title_only = fts5_match(query, column="title")
    assert set(tsquery(described)) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ()|&")
    assert title_only.startswith("{title} : (")
    for words in (fts5_match(described), title_only.removeprefix("{title} : ")):
        assert set(words.replace(" OR ", " ").replace(" AND ", " ").replace(" NOT ", " ")) <= set(
            'abcdefghijklmnopqrstuvwxyz0123456789 ()"*'
        )


def test_a_description_asks_for_half_of_its_longest_words_as_whole_stems() -> None:
    described = any_of("presupuesto participativo con votación en el barrio", most=6)
    assert described.at_least == 2  # four words: two of them
    assert ":*" not in tsquery(described)
    groups = tsquery(described).split(" | ")
    assert len(groups) == 6  # every pair of the four words
    assert all(group.count("&") == 1 for group in groups)
    assert tsquery(described.relaxed()).count("|") == 3  # any of the four


def test_snippets_escape_what_a_node_sent_and_mark_the_matches() -> None:
    snippet = highlight(
        "<img src=x onerror=alert(1)> Presupuestos participativos en Maipú", parse("presupuesto").stems()
    )
    assert "<img" not in snippet
    assert "&lt;img" in snippet
    assert "<mark>Presupuestos</mark>" in snippet


def test_the_command_line_searches_the_library(tmp_path: Path) -> None:
    import asyncio  # noqa: PLC0415

    from click.testing import CliRunner  # noqa: PLC0415

    from ogp_federation.cli import cli  # noqa: PLC0415

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    async def harvest() -> None:
        async with fake_nodes() as server, aggregator(database_url) as runtime:
            await _harvested(runtime, server)

    asyncio.run(harvest())
    env = {"OGP_AGG_DATABASE_URL": database_url, "OGP_AGG_SCHEDULER": "false"}
    runner = CliRunner()
    spanish = runner.invoke(cli, ["aggregator", "search", "presupuestos participativos"], env=env)
    english = runner.invoke(cli, ["aggregator", "search", "datos abiertos"], env={**env, "OGP_LANG": "en"})
    empty = runner.invoke(cli, ["aggregator", "search", "de la"], env=env)
    assert spanish.exit_code == 0, spanish.output
    assert "compromiso · Maipú (13119) · presupuesto" in spanish.output
    assert "[Presupuesto] [participativo]" in spanish.output
    assert "hitos cumplidos" in spanish.output
    assert english.exit_code == 0
    assert "commitment · Maipú (13119) · datos" in english.output
    assert empty.exit_code != 0
    assert "no words to search for" in empty.output or "no tiene palabras" in empty.output


async def test_adoptions_are_verified_against_the_harvested_feeds_and_counted(database_url: str) -> None:
    """Maipú adopted Peñalolén's mesas-territoriales (verified); Renca names one that does not exist (flagged)."""
    from ogp_federation.feed.model import AdoptedFrom, Methodology  # noqa: PLC0415

    async with fake_nodes() as server, aggregator(database_url) as runtime:
        nodes = await _harvested(runtime, server)
        renca = decode((FEEDS / "renca.json").read_bytes())
        borrowed = Methodology(
            id="cuentas-por-territorio",
            title="Cuentas públicas por territorio",
            pillars=list(renca.commitments[1].pillars),
            summary="Una cuenta pública en cada territorio, con preguntas de los vecinos.",
            adopted_from=[AdoptedFrom(cut="13122", id="no-existe")],
        )
        changed = msgspec.structs.replace(
            renca,
            sequence=renca.sequence + 1,
            generated_at=renca.generated_at.replace(hour=10),
            methodologies=[borrowed],
        )
        nodes["13128"].publish(changed.sequence, encode(changed))
        await make_due(runtime, "13128")
        await runtime.scheduler.tick()
        source = await runtime.library.methodology("13122", "mesas-territoriales")
        copy = await runtime.library.methodology("13119", "mesas-verdes-maipu")
        penalolen = await runtime.library.cooperation("13122")
        maipu = await runtime.library.cooperation("13119")
        renca_view = await runtime.library.cooperation("13128")
        with pytest.raises(Exception, match="not in the library"):
            await runtime.library.methodology("13122", "no-existe")
    assert [(a.adopter_cut, a.adopter_key, a.verified) for a in source.adopted_by] == [
        ("13119", "mesas-verdes-maipu", True)
    ]
    assert source.adopted_by[0].adopted_since is not None
    assert [(a.source_cut, a.source_key) for a in copy.lineage] == [("13122", "mesas-territoriales")]
    assert (penalolen.communes_that_adopted_from_it, len(penalolen.adopted_by_others)) == (1, 1)
    assert (maipu.adopted_verified, maipu.adopted_flagged) == (1, 0)
    assert (renca_view.adopted_verified, renca_view.adopted_flagged) == (0, 1)
    assert renca_view.adopted[0].source_title is None


async def test_who_already_did_this_prefers_other_communes_with_proven_work(database_url: str) -> None:
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _harvested(runtime, server)
        found = await runtime.library.suggest(
            "Queremos un presupuesto participativo donde los vecinos voten proyectos", cut="13122"
        )
        anyone = await runtime.library.suggest("datos abiertos municipales")
        per_commitment = await runtime.library.suggestions("13128")
        first_page = await runtime.library.suggestions("13128", limit=1)
        second_page = await runtime.library.suggestions("13128", limit=1, page=2)
        with pytest.raises(InvalidInputError):
            await runtime.library.suggest("de la y el")
    assert found, "someone already did a participatory budget"
    assert found[0].hit.cut == "13119"
    assert found[0].hit.key in ("presupuesto", "mesas-verdes-maipu")
    assert all(item.hit.cut != "13122" for item in found)  # not the asking commune's own work
    assert "same_region" in found[0].reasons
    assert ("13119", "datos") in [(item.hit.cut, item.hit.key) for item in anyone]
    assert [c.key for c in per_commitment] == sorted(c.key for c in per_commitment)
    assert [c.key for c in first_page + second_page] == [c.key for c in per_commitment[:2]]
    assert all(item.hit.cut != "13128" for c in per_commitment for item in c.suggestions)


async def test_the_library_api_answers_and_refuses_clearly(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        await _harvested(runtime, server)
    async with AsyncTestClient(app=create_app(agg_settings(database_url))) as http:
        searched = await http.get("/api/v1/library/search", params={"q": "mesas", "kind": "methodology"})
        suggested = await http.get("/api/v1/library/suggestions", params={"text": "compras a proveedores locales"})
        commune = await http.get("/api/v1/communes/13122/suggestions")
        method = await http.get("/api/v1/library/methodologies/13122/mesas-territoriales")
        coop = await http.get("/api/v1/communes/13119/cooperation")
        missing = await http.get("/api/v1/library/methodologies/13122/nada")
        bad_cut = await http.get("/api/v1/communes/99999/cooperation")
        bad_kind = await http.get("/api/v1/library/search", params={"q": "mesas", "kind": "receta"})
        bad_page = await http.get("/api/v1/library/search", params={"q": "mesas", "page": "0"})
    assert searched.status_code == 200
    assert {hit["kind"] for hit in searched.json()["hits"]} == {"methodology"}
    assert suggested.status_code == 200
    assert suggested.json()[0]["hit"]["cut"] == "13128"
    assert commune.status_code == 200
    assert method.json()["adopted_by"][0]["adopter_cut"] == "13119"
    assert coop.json()["adopted_verified"] == 1
    for answer, status in ((missing, 404), (bad_cut, 404), (bad_kind, 422), (bad_page, 400)):
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_pool_with_every_connection_busy_is_a_503_not_a_500() -> None:
    """Long searches can hold every pooled connection: the next request waits, then gets 503 to retry."""
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError  # noqa: PLC0415

    from ogp_federation.core.db import database_failure  # noqa: PLC0415

    failure = database_failure(PoolTimeoutError("QueuePool limit of size 10 overflow 10 reached"))
    assert failure is not None
    assert failure.status_code == 503


async def test_a_broad_query_ranks_a_window_of_matches_and_still_its_title_matches(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the window, the count says "more" and an entry with the whole query in its title still ranks."""
    from ogp_federation.aggregator.library import service  # noqa: PLC0415
    from ogp_federation.aggregator.library.index import insert_rows  # noqa: PLC0415

    monkeypatch.setattr(service, "WINDOW", 5)

    def entry(number: int, title: str, body: str) -> dict[str, Any]:
        return {
            "cut": "13101", "kind": "commitment", "key": f"c{number}", "version_id": 1, "title": title,
            "summary": "", "body": body, "pillars": " citizen_participation ", "status": "ongoing",
            "progress": None, "milestones": 0, "completed": 0, "evidenced": 0, "has_resources": False,
            "license": None, "synthetic": True, "detail": {},
        }  # fmt: skip

    rows = [entry(n, f"Compromiso {n}", "se habló de huertos comunitarios en la plaza") for n in range(12)]
    rows.append(entry(99, "Huertos comunitarios en cada barrio", "plan de la comuna"))
    async with aggregator(database_url) as runtime:
        async with runtime.db.transaction() as session:
            await insert_rows(session, rows)
        broad = await runtime.library.search("huertos comunitarios")
        narrow = await runtime.library.search("huerto barrio")
        with pytest.raises(InvalidInputError) as past:
            await runtime.library.search("huertos comunitarios", limit=5, page=2)
    assert (broad.total, broad.total_exact) == (5, False)
    assert broad.hits[0].key == "c99"  # found through the titles although the 13th match
    assert len(broad.hits) == 6  # the window and the title match
    assert (narrow.total, narrow.total_exact) == (1, True)
    assert past.value.errors[0]["path"] == "page"
