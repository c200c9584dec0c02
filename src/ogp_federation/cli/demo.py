"""``ogp-federation demo``: the whole federation on one machine, SQLite only, no other server.

Three commune nodes (Peñalolén, Maipú and Renca, from the fixtures), the other 343 communes as
synthetic nodes served by one small app (a few of them misbehaving: down, invalid, slow), and the
aggregator all run in this process on 127.0.0.1. The nodes are registered, harvested (a live view shows
it), then the dashboard is served until Ctrl-C. ``--once`` stops after the first complete harvest (for
scripts and CI); ``--no-synthetic`` runs the three real nodes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import click
import msgspec
import uvicorn
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ._io import FEEDS_HELP, fixture_feeds

__all__ = ["demo"]

COMMUNES = (("13122", "penalolen.json"), ("13119", "maipu.json"), ("13128", "renca.json"))
POLL_SECONDS = 20  # short, so that the live table shows polls happening
SYNTHETIC_POLL_SECONDS = 600  # the synthetic communes are read less often: the machine has other work
SLOW_SECONDS = 8.0  # a slow synthetic node answers after this (the aggregator stops waiting at half)
STATE_STYLE = {"ok": "green", "never_harvested": "yellow", "failing": "red", "invalid": "red", "quarantined": "red"}


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the demo (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@click.command()
@click.option("--port", type=int, default=8100, show_default=True, help="Aggregator port; nodes use the next three.")
@click.option(
    "--feeds",
    "feeds_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=FEEDS_HELP,
)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), help="Keep the data here [default: temp].")
@click.option("--once", is_flag=True, help="Exit after the first complete harvest.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for the harvest.")
@click.option(
    "--synthetic/--no-synthetic",
    default=True,
    show_default=True,
    help="Las otras 343 comunas como nodos sintéticos / the other 343 communes as synthetic nodes.",
)
def demo(port: int, feeds_dir: Path | None, workdir: Path | None, once: bool, timeout: float, synthetic: bool) -> None:
    """Federación completa de demostración / the whole federation on this machine (nodes + aggregator)."""
    feeds_dir = fixture_feeds(feeds_dir, tuple(name for _, name in COMMUNES))
    with _folder(workdir) as folder:
        ok = asyncio.run(_run(folder, feeds_dir, port, once, timeout, synthetic=synthetic))
    sys.exit(0 if ok else 1)


@contextlib.contextmanager
def _folder(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="ogp-demo-") as tmp:
        yield Path(tmp)


async def _run(folder: Path, feeds_dir: Path, port: int, once: bool, timeout: float, *, synthetic: bool) -> bool:
    from ogp_federation.aggregator.app import create_app as aggregator_app  # noqa: PLC0415 (keep --help fast)
    from ogp_federation.aggregator.common import AggregatorSettings  # noqa: PLC0415
    from ogp_federation.aggregator.runtime import AggregatorRuntime  # noqa: PLC0415
    from ogp_federation.aggregator.setup import prepare_database  # noqa: PLC0415
    from ogp_federation.core.logs import configure_logging  # noqa: PLC0415
    from ogp_federation.feed.protocol import FEED_PATH  # noqa: PLC0415

    configure_logging(level=logging.WARNING)  # a line per request or tick would drown the live table
    console = Console()
    aggregator_url = f"http://127.0.0.1:{port}"
    node_urls = {cut: f"http://127.0.0.1:{port + index}" for index, (cut, _) in enumerate(COMMUNES, start=1)}
    console.print("[bold]ogp-federation[/] — federación local de demostración (SQLite, 127.0.0.1)")
    started = time.monotonic()
    node_settings = [
        await _node(folder, cut, name, feeds_dir, node_urls[cut], aggregator_url) for cut, name in COMMUNES
    ]
    database_url = f"sqlite+aiosqlite:///{folder / 'aggregator.db'}"
    await prepare_database(database_url)
    settings = AggregatorSettings(
        database_url=database_url,
        public_url=aggregator_url,
        allowed_networks=["127.0.0.0/8"],
        default_poll_interval=POLL_SECONDS,
        tick_seconds=1.0,
        worker_id="demo",
        total_timeout=SLOW_SECONDS / 2,  # the slow synthetic nodes fail visibly
        check_on_registration=False,  # `ogp-federation node check URL` shows the checks; the demo starts fast
        releases_dir=str(folder / "releases"),  # the monthly release is built in the demo's folder
    )
    runtime = AggregatorRuntime(settings)
    servers = [_server(aggregator_app(settings, runtime=runtime), port)]
    servers += [_server(_node_app(s), int(node_urls[s.cut].rsplit(":", 1)[1])) for s in node_settings]
    synthetic_urls: dict[str, str] = {}
    misbehaving: dict[str, str] = {}
    if synthetic:
        others = [c.cut for c in runtime.reference if c.cut not in node_urls]
        server, synthetic_urls, misbehaving = _synthetic(others, port + len(COMMUNES) + 1)
        servers.append(server)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                raise click.ClickException("un servidor no pudo iniciar (¿puerto ocupado?) / a server could not start")
            await asyncio.sleep(0.05)
        for cut, url in node_urls.items():
            await runtime.registry.add_node(cut, url, trust_fetched_keys=True, interval=POLL_SECONDS)
        await _register(runtime, synthetic_urls)
        watched = _Watched(real=list(node_urls), synthetic=list(synthetic_urls), misbehaving=misbehaving)
        if once:
            ok = await _watch(console, runtime, watched, timeout, started=started)
            console.print("\nDemo terminada: los servidores se detienen. Ejecútela sin --once para explorarla.")
            console.print("Demo finished: its servers stop now. Run it without --once to explore it.")
            return ok
        console.print(f"Panel de la federación / dashboard: [link]{aggregator_url}/[/link]")
        console.print(f"Estado de la federación / status page: [link]{aggregator_url}/status[/link]")
        for cut, url in node_urls.items():
            console.print(f"  nodo {cut}: {url}/  (feed {url}{FEED_PATH})", soft_wrap=True)  # URLs whole
        console.print(f"Cada nodo se lee cada {POLL_SECONDS} s; Ctrl-C para terminar / polled every {POLL_SECONDS} s.")
        return await _watch(console, runtime, watched, timeout, until=stop, started=started)
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _synthetic(cuts: list[str], port: int) -> tuple[_Server, dict[str, str], dict[str, str]]:
    """The server of the synthetic communes, their URLs, and which misbehave how (six of them)."""
    from ._demo_nodes import MISBEHAVIOURS, SyntheticNodes  # noqa: PLC0415

    misbehaving = {cut: MISBEHAVIOURS[i % len(MISBEHAVIOURS)] for i, cut in enumerate(cuts[10::57][:6])}
    base = f"http://127.0.0.1:{port}"
    nodes = SyntheticNodes(base, cuts, misbehaving=misbehaving, slow_seconds=SLOW_SECONDS)
    return _server(nodes, port), {cut: f"{base}/{cut}" for cut in cuts}, misbehaving


def _server(app: Any, port: int) -> _Server:
    return _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))


def _node_app(settings: Any) -> Any:
    from ogp_federation.node.app import create_app  # noqa: PLC0415

    return create_app(settings)


async def _node(folder: Path, cut: str, name: str, feeds_dir: Path, url: str, aggregator_url: str) -> Any:
    """Create a node for ``cut`` loaded with the fixture's records, pushing to the aggregator."""
    from ogp_federation.feed import COLLECTIONS  # noqa: PLC0415
    from ogp_federation.feed.model import Contact  # noqa: PLC0415
    from ogp_federation.node.records import ReplaceAll  # noqa: PLC0415
    from ogp_federation.node.runtime import NodeRuntime  # noqa: PLC0415
    from ogp_federation.node.settings import load_settings  # noqa: PLC0415
    from ogp_federation.node.setup import init_node  # noqa: PLC0415

    config = folder / cut / "node.toml"
    if not config.exists():
        document = msgspec.json.decode((feeds_dir / name).read_bytes())
        await init_node(
            config, cut=cut, data_dir=folder / cut / "data", public_url=url, contact=Contact(**document["contact"])
        )
        settings = load_settings(config)
        runtime = NodeRuntime(settings)
        try:
            await runtime.change(
                [ReplaceAll({c.entity: document.get(c.entity.value, []) for c in COLLECTIONS})], author="demo"
            )
        finally:
            await runtime.db.close()
    settings = load_settings(config)
    return msgspec.structs.replace(settings, public_url=url, push_urls=[f"{aggregator_url}/push"])


@dataclasses.dataclass(frozen=True)
class _Watched:
    """The nodes the live view follows: the real ones row by row, the synthetic ones counted."""

    real: list[str]
    synthetic: list[str]
    misbehaving: dict[str, str]

    @property
    def every(self) -> list[str]:
        return [*self.real, *self.synthetic]


async def _register(runtime: Any, urls: dict[str, str]) -> None:
    """Register the synthetic nodes, a few at a time (each is a descriptor and a JWKS to read)."""
    gate = asyncio.Semaphore(16)

    async def one(cut: str, url: str) -> None:
        async with gate:
            await runtime.registry.add_node(cut, url, trust_fetched_keys=True, interval=SYNTHETIC_POLL_SECONDS)

    await asyncio.gather(*(one(cut, url) for cut, url in urls.items()))


def _expected(watched: _Watched, nodes: dict[str, Any]) -> bool:
    """Every well-behaved node harvested and up to date, every misbehaving one failing as it should."""
    return all(
        cut in nodes and (nodes[cut].state != "ok" if cut in watched.misbehaving else nodes[cut].state == "ok")
        for cut in watched.every
    )


async def _watch(
    console: Console,
    runtime: Any,
    watched: _Watched,
    timeout: float,
    until: asyncio.Event | None = None,
    *,
    started: float,
) -> bool:
    """Show the harvest live: until every node was read once (or ``timeout``), then on until ``until`` is set.

    The real nodes have a row each (state, sequence, polls, last poll, last error); the synthetic ones
    are counted by state, the misbehaving ones listed. The result: whether every node is as it should be.
    """
    from ogp_federation.aggregator.common import CHILE  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    harvested: bool | None = None
    with Live(console=console, refresh_per_second=4) as live:
        while True:
            nodes = {n.cut: n for n in await runtime.registry.nodes()}
            polls = {cut: len((await runtime.history.events(cut, limit=1000)).items) for cut in watched.real}
            table = Table(title="Cosecha / harvest")
            columns = ("CUT", "comuna", "estado", "secuencia", "lecturas", "última (hora de Chile)", "último error")
            for column in columns:
                table.add_column(column)
            for cut in watched.real:
                node = nodes.get(cut)
                commune = runtime.reference.get(cut)
                state = node.state if node else "—"
                last = node.last_attempt_at if node else None
                table.add_row(
                    cut,
                    commune.name if commune else cut,
                    f"[{STATE_STYLE.get(state, 'white')}]{state}",
                    str(node.sequence if node and node.sequence is not None else "—"),
                    str(polls[cut]),
                    f"{last.astimezone(CHILE):%H:%M:%S}" if last else "—",
                    (node.last_error_code or "") if node else "",
                )
            if watched.synthetic:
                counts = Counter(nodes[cut].state for cut in watched.synthetic if cut in nodes)
                summary = ", ".join(f"[{STATE_STYLE.get(k, 'white')}]{k}[/]: {v}" for k, v in sorted(counts.items()))
                table.add_row("…", f"{len(watched.synthetic)} sintéticas / synthetic", summary, "", "", "", "")
                for cut, behaviour in sorted(watched.misbehaving.items()):
                    node = nodes.get(cut)
                    state = node.state if node else "—"
                    error = (node.last_error_code or "") if node else ""
                    name = runtime.reference.get(cut)
                    label = f"{name.name if name else cut} ({behaviour})"
                    table.add_row(cut, label, f"[{STATE_STYLE.get(state, 'white')}]{state}", "", "", "", error)
            live.update(table)
            done = all(cut in nodes and nodes[cut].state != "never_harvested" for cut in watched.every)
            if harvested is None and (done or loop.time() > deadline):
                harvested = done and _expected(watched, nodes)
                seconds = time.monotonic() - started
                console.print(
                    f"Primera cosecha completa en {seconds:.0f} s / first complete harvest in {seconds:.0f} s"
                    if done
                    else f"Cosecha incompleta tras {timeout:.0f} s / harvest incomplete after {timeout:.0f} s"
                )
            if harvested is not None and (until is None or until.is_set()):
                return harvested
            await asyncio.sleep(0.5 if until is None else 1.0)
