"""The Spanish quick start (docs/comuna-rapida.md) runs as written: each path from nothing to a harvested feed.

Each shell block of a path is run by bash in an empty folder, line by line as a person would type it;
the one manual step (filling the spreadsheet) is the fixture commune's workbook put in place.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from node_helpers import fixture_records
from ogp_federation.node.spreadsheet.files import write_xlsx
from ogp_federation.node.spreadsheet.tables import records_to_tables

GUIDE = ROOT / "docs" / "comuna-rapida.md"
PATHS = {"Camino A": ("penalolen.json", 8080), "Camino B": ("maipu.json", 8090)}


def _block(title: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split(f"## {title}", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, f"no shell block under {title}"
    return match.group(1)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
@pytest.mark.parametrize("title", list(PATHS))
def test_each_path_of_the_quick_start_runs_as_written(title: str, tmp_path: Path) -> None:
    fixture, port = PATHS[title]
    for needed in (port,):
        assert _free(needed), f"port {needed} is taken: the guide uses it"
    (tmp_path / "plan.xlsx").write_bytes(write_xlsx(records_to_tables(fixture_records(fixture))))  # the manual step
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + _block(title)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OGP_")}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, f"{title} failed after {seconds:.1f} s:\n{done.stdout}\n{done.stderr}"
    assert "1 nodo cosechado, 0 con problemas" in done.stdout, done.stdout
    assert "accepted" in done.stdout
    print(f"{title}: {seconds:.1f} s")
