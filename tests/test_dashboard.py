"""The dashboard in a real browser: every page renders in both languages, at desktop and phone widths,
under a strict CSP; what nodes send (HTML, scripts, endless words, right-to-left text, 10,000 milestones)
shows as text. Screenshots are kept in ``artifacts/screenshots`` for whoever reads the CI run."""

from __future__ import annotations

import copy
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from agg_helpers import FakeNode, aggregator, fake_nodes
from conftest import FEEDS, ROOT
from ogp_federation.feed import decode, encode
from test_node_citizen import chromium, dump_dom
from test_node_federation import CLI, free_port, process

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
LONG_WORD = "Transparencia" * 16
RTL = "مشاركة المواطنين \u202eأمل"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PAGES = {
    "overview": "/",
    "map-by-indicator": "/?indicador=hitos_a_tiempo",
    "commune": "/comunas/13101",
    "profile": "/comunas/13119",
    "indicator": "/indicadores/hitos_a_tiempo?grupo=todas&comuna=13119",
    "library": "/biblioteca?q=presupuesto",
    "suggestions": "/biblioteca?describir=presupuesto+participativo+con+seguimiento",
    "methodology": "/biblioteca/13122/mesas-territoriales",
    "researchers": "/investigadores",
}


def _hostile_feed() -> bytes:
    """Renca's plan under CUT 13101 (Santiago), its texts hostile and one commitment with 10,000 milestones."""
    document: dict[str, Any] = msgspec.json.decode((FEEDS / "renca.json").read_bytes())
    document["publisher"] = {**document["publisher"], "cut": "13101", "name": "Santiago"}
    commitment = document["commitments"][0]
    commitment["title"] = HOSTILE + " " + LONG_WORD
    commitment["problem"] = RTL
    template = next(m for m in document["milestones"] if m["commitment_id"] == commitment["id"])
    for number in range(10_000):
        extra = copy.deepcopy(template)
        extra["id"] = f"h{number}"
        extra["title"] = f"{HOSTILE} hito {number}"
        extra.pop("evidence", None)
        extra["status"] = "not_started"
        extra.pop("completed_on", None)
        extra["progress"] = 0
        document["milestones"].append(extra)
    return encode(decode(msgspec.json.encode(document)))


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The aggregator serving the dashboard on loopback over three fixture communes and a hostile one."""
    import asyncio  # noqa: PLC0415

    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite+aiosqlite:///{folder / 'a.db'}"

    async def harvest() -> None:
        limits = {"max_bytes": 16 * 1024 * 1024, "max_decompressed_bytes": 64 * 1024 * 1024, "total_timeout": 30.0}
        async with fake_nodes() as server, aggregator(url, releases_dir=str(folder / "r"), **limits) as runtime:
            feeds = {"13122": "penalolen", "13119": "maipu", "13128": "renca"}
            for cut, name in feeds.items():
                body = (FEEDS / f"{name}.json").read_bytes()
                server.add(FakeNode(cut)).publish(decode(body).sequence, body)
            hostile = _hostile_feed()
            server.add(FakeNode("13101")).publish(decode(hostile).sequence, hostile)
            for cut in [*feeds, "13101"]:
                await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
            summary = await runtime.scheduler.tick()
            assert {r.cut: r.outcome for r in summary.results}["13101"] == "accepted", summary.results
            await runtime.quality.compute()
            await runtime.releases.build()

    asyncio.run(harvest())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"OGP_AGG_DATABASE_URL": url, "OGP_AGG_SCHEDULER": "false", "OGP_AGG_RELEASES_DIR": str(folder / "r")}
    with process(CLI, "aggregator", "serve", "--port", str(port), env=env, ready_url=f"{base}/health"):
        yield base


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_renders_in_both_languages_under_a_strict_csp(dashboard: str, name: str) -> None:
    url = dashboard + PAGES[name]
    spanish = httpx.get(url, timeout=60, headers={"Accept-Language": "es-CL,es"})
    english = httpx.get(url, timeout=60, headers={"Accept-Language": "en"})
    assert spanish.status_code == 200, spanish.text[:500]
    assert spanish.headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'self'")
    assert "<script" not in spanish.text
    assert 'lang="es-CL"' in spanish.text
    assert 'lang="en"' in english.text
    assert "Gobierno Abierto Local" in spanish.text
    assert "Local Open Government" in english.text


def test_what_nodes_send_is_shown_as_text_and_does_not_break_the_page(dashboard: str, tmp_path: Path) -> None:
    url = dashboard + "/comunas/13101"
    served = httpx.get(url, timeout=60)
    dom = dump_dom(url, tmp_path / "p")  # the DOM after Chromium ran the page: no node's script ran
    assert "&lt;script&gt;document.title=" in served.text  # escaped: shown as text
    assert "<img src=x" not in served.text
    assert "hitos más" in served.text  # 10,000 milestones: a page of them, the rest counted
    assert len(served.content) < 2_000_000
    assert "pwned" not in dom.split("<title>")[1].split("</title>")[0]
    assert LONG_WORD in served.text  # shown whole; the stylesheet wraps it (overflow-wrap: anywhere)


def test_the_profile_says_each_version_state_in_the_reader_s_words(dashboard: str) -> None:
    url = dashboard + PAGES["profile"]
    spanish = httpx.get(url, timeout=60, headers={"Accept-Language": "es-CL"}).text.split(">Versiones<")[1]
    english = httpx.get(url, timeout=60, headers={"Accept-Language": "en"}).text.split(">Versions<")[1]
    assert "<td>Aceptada" in spanish
    assert "<td>Accepted" in english
    assert "<td>accepted" not in spanish + english  # the stored code is never what a reader sees


def test_the_profile_draws_each_indicator_s_trend_and_says_it_in_words(dashboard: str) -> None:
    url = dashboard + PAGES["profile"]
    for locale, header, words in (
        ("es-CL", ">Tendencia<", ("↗ mejora", "↘ empeora", "→ estable", "sin dirección preferida")),
        ("en", ">Trend<", ("↗ improving", "↘ worsening", "→ steady", "no preferred direction")),
    ):
        page = httpx.get(url, timeout=60, headers={"Accept-Language": locale}).text
        table = page.split(header)[1].split("</table>")[0]
        sparks = table.count('class="spark"')
        assert sparks > 0, "the fixture communes have values in more than one year"
        assert sum(table.count(word) for word in words) == sparks  # each line also said in words
        for description in table.split("<desc>")[1:]:
            assert re.match(r"[0-9]{4}: [0-9.,]+(; [0-9]{4}: [0-9.,]+)+</desc>", description), description[:80]


def test_the_profile_lists_citizen_inputs_with_what_was_done_with_each(dashboard: str) -> None:
    url = dashboard + PAGES["profile"]
    spanish = httpx.get(url, timeout=60, headers={"Accept-Language": "es-CL"}).text
    english = httpx.get(url, timeout=60, headers={"Accept-Language": "en"}).text
    table = spanish.split(">Aportes ciudadanos y sus respuestas<")[1].split("</table>")[0]
    rows = table.count("<tr>") - 1  # the header row
    shown = int(spanish.split(" aportes ciudadanos respondidos")[0].rsplit(" de ", 1)[1].replace(".", ""))
    assert rows == min(shown, 100) > 0
    assert any(word in table for word in ("Acogido", "En evaluación", "No acogido", "Retirado"))
    assert "<td>accepted<" not in table
    assert "<td>evaluating<" not in table
    assert ">Citizen inputs and their answers<" in english


AXE_VERSION = "4.14.1"


@pytest.fixture(scope="session")
def axe_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """axe-core from the npm registry (``npm pack``), cached in ``.cache/`` of the checkout."""
    cached = ROOT / ".cache" / f"axe-core-{AXE_VERSION}.min.js"
    if not cached.exists():
        folder = tmp_path_factory.mktemp("axe")
        subprocess.run(
            ["npm", "pack", f"axe-core@{AXE_VERSION}", "--pack-destination", str(folder)],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
        import tarfile  # noqa: PLC0415

        with tarfile.open(folder / f"axe-core-{AXE_VERSION}.tgz") as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            cached.parent.mkdir(exist_ok=True)
            cached.write_bytes(member.read())
    return cached


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium (Debian's, never a downloaded one) shared by the page tests of this module."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea, summary"


@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("width", [1280, 390])
def test_pages_have_no_console_error_no_serious_accessibility_violation_and_every_control_by_keyboard(
    dashboard: str, browser: Any, axe_script: Path, name: str, width: int
) -> None:
    # bypass_csp: the test injects axe-core; the page itself runs no script.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="es-CL", bypass_csp=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(dashboard + PAGES[name])
        title = page.title()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        controls = page.locator(FOCUSABLE).count()
        reached: set[str] = set()
        for _ in range(controls + 3):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : ''"))
        every = set(page.eval_on_selector_all(FOCUSABLE, "els => els.map(e => e.outerHTML.slice(0, 200))"))
        page.add_script_tag(path=str(axe_script))
        violations = page.evaluate(
            "axe.run().then(r => r.violations.filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')))"
        )
    finally:
        context.close()
    assert problems == []
    assert "pwned" not in title  # no node's script ran
    assert (SCREENSHOTS / f"{name}-{width}.png").stat().st_size > 1000
    assert every <= reached, sorted(every - reached)[:5]
    assert violations == []
