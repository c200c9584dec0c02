"""The aggregator's public status page in a real browser (Debian's headless Chromium), served by the CLI."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import update

from agg_helpers import FakeNode, aggregator, fake_nodes
from ogp_federation.aggregator.registry import Node
from test_node_citizen import dump_dom
from test_node_federation import CLI, free_port, process

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='img'\"> fallo"


async def test_status_page_shows_every_state_in_spanish_and_escapes_what_nodes_send(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        for cut in ("13122", "13119"):
            server.add(FakeNode(cut))
            await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        async with runtime.db.transaction() as session:  # what a failing node left behind, as stored
            await session.execute(
                update(Node)
                .where(Node.cut == "13119")
                .values(state="failing", last_error_code="http.protocol", last_error_message=HOSTILE)
            )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"OGP_AGG_DATABASE_URL": database_url, "OGP_AGG_SCHEDULER": "false"}
    with process(CLI, "aggregator", "serve", "--port", str(port), env=env, ready_url=f"{base}/health"):
        served = httpx.get(f"{base}/status")
        dom = dump_dom(f"{base}/status", tmp_path / "profile")
    assert served.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "<script" not in served.text
    assert "<title>Estado de la federación — Gobierno Abierto Local</title>" in dom  # no injected script ran
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom  # shown as text
    assert "respuesta HTTP defectuosa" in dom  # what http.protocol means, in Spanish
    assert '<img src="x"' not in dom
    assert 'lang="es-CL"' in dom
    assert "346 comunas en el registro" in dom
    assert "Al día: 1" in dom
    assert "Con fallas: 1" in dom
    assert "No publica: 344" in dom
    assert dom.count("<tr>") == 3  # the header and the two registered nodes


async def test_the_status_page_filters_by_region_and_state_and_says_what_to_do(tmp_path: Path) -> None:
    from ogp_federation.aggregator.app import create_app  # noqa: PLC0415

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"
    async with fake_nodes() as server, aggregator(database_url) as runtime:
        for cut in ("13122", "05101"):
            server.add(FakeNode(cut))
            await runtime.registry.add_node(cut, server.base(cut), trust_fetched_keys=True)
        await runtime.scheduler.tick()
        async with runtime.db.transaction() as session:
            await session.execute(
                update(Node).where(Node.cut == "05101").values(state="failing", last_error_code="tls.failed")
            )
        app = create_app(runtime.settings, runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as http:
            failing = (await http.get("/status", params={"estado": "failing"})).text
            region = (await http.get("/status", params={"region": "Metropolitana de Santiago"})).text
            nothing = (await http.get("/status", params={"estado": "quarantined"})).text
            english = (await http.get("/status", params={"estado": "failing", "lang": "en"})).text
    assert 'href="/comunas/05101"' in failing
    assert 'href="/comunas/13122"' not in failing
    assert "Qué hacer: renueve o corrija el certificado HTTPS" in failing
    assert 'href="/comunas/13122"' in region
    assert 'href="/comunas/05101"' not in region
    assert "Ningún nodo con estos filtros." in nothing
    assert "What to do: renew or fix the site's HTTPS certificate" in english.replace("&#39;", "'")
