"""Logs: one format for the project's events and the libraries' records; routine library chatter kept out."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from ogp_federation.aggregator.setup import prepare_database
from ogp_federation.core.logs import QUIET_LOGGERS, configure_logging, get_logger
from test_node_federation import CLI, WAIT_SECONDS, free_port


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    try:
        yield
    finally:
        root.handlers[:], root.level = handlers, level
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)
        structlog.reset_defaults()


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]  # fails on any line that is not JSON


def test_json_logs_render_library_records_and_own_events_alike(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json=True)
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /ready HTTP/1.1" 200')
    get_logger("test.logging").info("poll", cut="13122", outcome="accepted")
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger("test.logging").exception("poll.unexpected", cut="13119")
    logging.getLogger("apscheduler.executors.default").info('Running job "HarvestScheduler.safe_tick"')
    logging.getLogger("alembic.runtime.migration").info("Context impl PostgresqlImpl.")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    events = _events(capsys.readouterr().out)
    assert [(e["logger"], e["level"], e["event"]) for e in events] == [
        ("uvicorn.access", "info", '127.0.0.1 - "GET /ready HTTP/1.1" 200'),
        ("test.logging", "info", "poll"),
        ("test.logging", "error", "poll.unexpected"),
        ("apscheduler.scheduler", "warning", "Run time of job was missed"),
    ]
    assert (events[1]["cut"], events[1]["outcome"]) == ("13122", "accepted")
    assert "ValueError: boom" in events[2]["exception"]  # the traceback, as text in the JSON line
    assert all(e["timestamp"].endswith("Z") for e in events)


def test_a_serving_aggregator_writes_only_json_lines_without_per_tick_chatter(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'agg.db'}"
    asyncio.run(prepare_database(database_url))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OGP_AGG_DATABASE_URL": database_url,
        "OGP_AGG_JSON_LOGS": "true",
        "OGP_AGG_TICK_SECONDS": "0.1",  # the scheduler ticks many times while the test runs
    }
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([CLI, "aggregator", "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                try:
                    if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert server.poll() is None, "aggregator serve stopped"
                assert time.monotonic() < deadline, "aggregator serve did not start"
                time.sleep(0.2)
            for _ in range(3):
                assert httpx.get(f"{base}/ready", timeout=5).status_code == 200
            time.sleep(1)  # about ten scheduler ticks
        finally:
            server.terminate()
            server.wait(timeout=10)
        log.seek(0)
        events = _events(log.read().decode())
    loggers = {e["logger"] for e in events}
    assert sum(e["logger"] == "uvicorn.access" and "/ready" in e["event"] for e in events) >= 3
    assert "uvicorn.error" in loggers  # the server's own start and stop lines, in the same format
    assert not any(e["logger"].startswith(("apscheduler", "alembic")) for e in events)
