"""A PostgreSQL server of the test's own (initdb in a temporary folder), to stop and start under the aggregator.

The shared server on 127.0.0.1:5432 serves every other test; a fault test restarts its own. Run as root
(as CI does), the server runs as the ``postgres`` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _programs() -> Path:
    """The newest installed server's programs (Debian keeps them under /usr/lib/postgresql/<version>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


BIN = _programs()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One server: its port, its URL (database ``postgres``), and :meth:`stop` / :meth:`start`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_owner, *args], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            log = (self.folder / "log").read_text() if (self.folder / "log").exists() else ""
            pytest.fail(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}\n{log[-2000:]}", pytrace=False)

    def create(self) -> None:
        """initdb (trust authentication, no fsync: a throwaway server)."""
        self._run(str(BIN / "initdb"), "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.folder / "data"), str(self.folder / "log")
        self._run(str(BIN / "pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: as a crash would, every connection cut and recovery on the next start)."""
        self._run(str(BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")


@contextmanager
def own_postgresql() -> Iterator[Cluster]:
    """A new server, started; stopped and deleted afterwards. Fails loudly when it cannot be made."""
    if not (BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL's server programs are needed in {BIN} (apt-get install postgresql)", pytrace=False)
    folder = Path(tempfile.mkdtemp(prefix="ogp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    cluster = Cluster(folder)
    cluster.create()
    cluster.start()
    try:
        yield cluster
    finally:
        subprocess.run(
            [*cluster.as_owner, str(BIN / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
