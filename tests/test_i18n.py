"""Languages: the es-CL and English catalogues, plural forms, negotiation, the pages and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from agg_helpers import test_settings as agg_settings
from conftest import FEEDS
from node_helpers import client, load_fixture, make_node
from ogp_federation.cli import cli
from ogp_federation.cli.messages import catalogue_problems, extract
from ogp_federation.core.i18n import cli_language, language, negotiate
from ogp_federation.feed import decode
from ogp_federation.node.citizen import PageLanguage, render_plan


def test_every_message_is_translated_in_both_catalogues() -> None:
    """The CI check: no message missing, unused, untranslated, fuzzy, or with placeholders that differ."""
    assert catalogue_problems() == []
    messages = {entry.id if isinstance(entry.id, str) else entry.id[0] for entry in extract() if entry.id}
    # the three surfaces are all in: the citizen page, the status page and the command line
    assert {"Saltar al contenido", "Estado de la federación", "nada en cuarentena"} <= messages


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("es_CL", 1, "1 hito vencido"),
        ("es_CL", 2, "2 hitos vencidos"),
        ("es_CL", 0, "0 hitos vencidos"),
        ("es_CL", 1234, "1.234 hitos vencidos"),
        ("es_CL", 1_000_000, "1.000.000 hitos vencidos"),
        ("en", 1, "1 overdue milestone"),
        ("en", 3, "3 overdue milestones"),
        ("en", 1234, "1,234 overdue milestones"),
    ],
)
def test_plural_forms_agree_with_the_count(locale: str, count: int, expected: str) -> None:
    assert language(locale).ngettext("{count} hito vencido", "{count} hitos vencidos", count) == expected


def test_numbers_and_dates_follow_the_locale() -> None:
    from datetime import date  # noqa: PLC0415

    assert language("es_CL").number(1234.5) == "1.234,5"
    assert language("en").number(1234.5) == "1,234.5"
    assert language("es_CL").day(date(2026, 12, 1)) == "1 dic 2026"
    assert language("en").day(date(2026, 12, 1)) == "1 Dec 2026"


@pytest.mark.parametrize(
    ("requested", "header", "expected"),
    [
        (None, None, "es_CL"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "es-AR,es;q=0.9,en;q=0.8", "es_CL"),
        (None, "fr-FR,en;q=0.5", "en"),
        (None, "en;q=0.2,es;q=0.8", "es_CL"),  # quality, not order, decides
        (None, "de-DE, fr", "es_CL"),  # nothing we speak: the default
        (None, "en;q=0", "es_CL"),  # q=0 means "not this one"
        (None, ";;,q=x,\x00,en;q=abc", "es_CL"),  # malformed parts are skipped, never an error
        (None, "*", "es_CL"),
        ("en", "es-CL", "en"),  # an explicit ?lang= wins over the browser
        ("es", "en", "es_CL"),
        ("klingon", "en", "en"),  # an unknown ?lang= falls back to the header
    ],
)
def test_the_language_is_negotiated(requested: str | None, header: str | None, expected: str) -> None:
    assert negotiate(requested, header) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "es_CL"),
        ({"LANG": "C.UTF-8"}, "es_CL"),  # a server's default is not a choice
        ({"LANG": "POSIX"}, "es_CL"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "es_ES.UTF-8"}, "es_CL"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "es_CL.UTF-8"}, "en"),
        ({"OGP_LANG": "es", "LC_ALL": "en_US.UTF-8"}, "es_CL"),  # the product's own variable wins
        ({"LANGUAGE": "fr:en", "LANG": "es_CL.UTF-8"}, "en"),
    ],
)
def test_the_command_line_speaks_the_users_language(environ: dict[str, str], expected: str) -> None:
    assert cli_language(environ).locale == expected


def test_a_command_answers_in_english_when_asked_and_in_spanish_by_default() -> None:
    runner = CliRunner()
    spanish = runner.invoke(
        cli, ["feed", "demo"], env={"OGP_LANG": "", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}
    )
    english = runner.invoke(cli, ["feed", "demo"], env={"OGP_LANG": "en"})
    assert spanish.exit_code == english.exit_code == 0, spanish.output + english.output
    assert "Todo en orden." in spanish.output
    assert "secuencia 42" in spanish.output
    assert "43.471 bytes" in spanish.output
    assert "All as expected." in english.output
    assert "sequence 42" in english.output
    assert "43,471 bytes" in english.output
    assert "Todo en orden" not in english.output


def test_the_citizen_page_renders_in_english_with_the_plan_as_published() -> None:
    feed = decode((FEEDS / "penalolen.json").read_bytes())
    spanish = render_plan(feed)
    english = render_plan(feed, page=PageLanguage(locale="en", chosen=True))
    assert 'lang="es-CL"' in spanish
    assert "Compromisos" in spanish
    assert 'lang="en"' in english
    assert "<h3>Commitments</h3>" in english
    assert "Skip to content" in english
    assert feed.commitments[0].title in english  # the commune's own text is shown as published
    assert "Transparency and access to information" in english or "Citizen participation" in english
    assert "?lang=en" in english  # an explicit choice is carried by the page's links
    assert "?lang=" not in spanish.split("<main")[1]  # the static export's links stay plain
    assert 'href="?lang=es"' not in spanish  # the static export has no language switch


async def test_the_node_negotiates_the_page_language_and_keys_its_cache_by_it(tmp_path: Path) -> None:
    settings = await make_node(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")
    await load_fixture(settings)
    async with client(settings) as http:
        default = await http.get("/")
        english = await http.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
        again = await http.get("/")  # after the English page was cached: still Spanish
        chosen = await http.get("/?lang=en", headers={"Accept-Language": "es-CL"})
        commitment = await http.get("/plan/verde/?lang=en")
    assert 'lang="es-CL"' in default.text
    assert 'lang="es-CL"' in again.text
    assert 'lang="en"' in english.text
    assert "Commitments" in english.text
    assert 'lang="en"' in chosen.text
    assert 'href="plan/verde/?lang=en"' in chosen.text
    assert commitment.status_code == 200
    assert "Milestones" in commitment.text
    assert "Accept-Language" in default.headers["Vary"]
    assert default.headers["ETag"] != english.headers["ETag"]  # one validator per representation
    assert 'href="?lang=en"' in default.text  # the live page offers the other language


async def test_the_status_page_speaks_english_when_asked(tmp_path: Path) -> None:
    from litestar.testing import AsyncTestClient  # noqa: PLC0415

    from ogp_federation.aggregator.app import create_app  # noqa: PLC0415
    from ogp_federation.aggregator.setup import prepare_database  # noqa: PLC0415

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"
    await prepare_database(database_url)
    async with AsyncTestClient(app=create_app(agg_settings(database_url))) as http:
        english = await http.get("/status", headers={"Accept-Language": "en"})
        spanish = await http.get("/status")
    assert english.status_code == spanish.status_code == 200
    assert 'lang="en"' in english.text
    assert "Federation status" in english.text
    assert "346 communes in the registry" in english.text
    assert "Not publishing: 346" in english.text
    assert "346 comunas en el registro" in spanish.text
    assert "No publica: 346" in spanish.text
    assert "Accept-Language" in english.headers["Vary"]
