"""Group commit: finished polls written in batches, a few transactions at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .schemas import HarvestResult, Polled

__all__ = ["LINGER_SECONDS", "WRITERS", "WRITE_BATCH", "GroupCommit"]

WRITE_BATCH = 25  # finished polls that start a write (more gather while writers are busy)
LINGER_SECONDS = 0.2  # …or the time the first of them waits for the batch to fill
WRITERS = 3  # transactions writing polls at once, per worker


class GroupCommit:
    """Writes finished polls in batches: when ``WRITE_BATCH`` are waiting, or ``LINGER_SECONDS`` after the first.

    A free writer takes everything finished meanwhile and writes it in one transaction; the linger keeps a
    result (and the node's lease) from waiting for the slowest nodes of its round.
    """

    def __init__(
        self, record: Callable[[list[Polled]], Awaitable[list[HarvestResult]]], results: list[HarvestResult]
    ) -> None:
        self._record = record
        self._pending: list[Polled] = []
        self._writers = asyncio.Semaphore(WRITERS)
        self._timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()
        self.results = results  # what was recorded, in the order written

    async def add(self, polled: Polled) -> None:
        """Queue a finished poll; write the batch now if it is full."""
        self._pending.append(polled)
        if len(self._pending) >= WRITE_BATCH:
            await self.write()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, self._write_later)

    def _write_later(self) -> None:
        self._timer = None
        task = asyncio.create_task(self.write())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def write(self) -> None:
        """Write everything waiting, in one transaction."""
        async with self._writers:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            batch = self._pending[:]
            self._pending.clear()
            if batch:
                self.results.extend(await self._record(batch))

    async def close(self) -> None:
        """Write what is left and wait for the writes underway (their errors are raised here)."""
        await self.write()
        while self._writes:
            await asyncio.gather(*self._writes)
