"""The one write lock of a SQLite process, shared fairly: first come, first served.

SQLite lets one connection write at a time. Left to SQLite, each connection of the process polls for
its lock with its own backoff (the intake every millisecond, SQLAlchemy's connections sleeping up to
100 ms a try), so the fastest poller took the lock again and again and the others starved: processing
fell behind intake without bound, and alert outcomes waited seconds to be recorded. The gate makes the
lock a queue inside the process: every writer (an intake batch, a processing batch, an alert claim or
outcome, any other transaction) waits its turn in arrival order, so none waits for more than the
writers ahead of it. Each writer keeps its turn short: processing reads and parses a batch before it
takes its turn (WAL lets reads run beside a writer) and sizes its batches by the time they hold it.

The queue spans threads: the web app's event loop and the in-process worker's (``app.worker``) share
one gate, each waiter woken on its own loop. Re-entrant within one task (a transaction opened inside
another of the same task passes through), and bounded: a writer that waits longer than
``wait_limit`` goes ahead and leaves it to SQLite's own busy handling, as before the gate, rather
than hang. Other processes (a command) are not in the queue; SQLite's busy handling covers them. On
PostgreSQL nothing is serialised: the gate is off.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)

WAIT_LIMIT_SECONDS = 10.0


class WriteGate:
    def __init__(self, *, enabled: bool, wait_limit: float = WAIT_LIMIT_SECONDS) -> None:
        self.enabled = enabled
        self.wait_limit = wait_limit
        self._mutex = threading.Lock()
        self._held = False
        self._waiting: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        self._owners: set[asyncio.Task[object]] = set()  # one at most; a set to read across threads
        # Figures for tests and benchmarks: turns taken, and the longest wait for one (seconds).
        self.turns = 0
        self.longest_wait = 0.0

    def holding(self) -> bool:
        """Whether the current task holds the turn."""
        task = asyncio.current_task()
        return task is not None and task in self._owners

    @property
    def waiting(self) -> int:
        """How many writers wait for their turn now."""
        with self._mutex:
            return len(self._waiting)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Holds the process's write turn for the block."""
        task = asyncio.current_task()
        if not self.enabled or (task is not None and task in self._owners):
            yield  # off, or this task's turn already (only the outermost block ends it)
            return
        started = time.monotonic()
        if not await self._acquire():
            log.warning("a writer waited %.0f s for its turn; it goes ahead without it", self.wait_limit)
            yield
            return
        self.turns += 1
        self.longest_wait = max(self.longest_wait, time.monotonic() - started)
        if task is not None:
            self._owners.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._owners.discard(task)
            self._release()

    async def _acquire(self) -> bool:
        loop = asyncio.get_running_loop()
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            granted: asyncio.Future[None] = loop.create_future()
            self._waiting.append((loop, granted))
        try:
            await asyncio.wait_for(asyncio.shield(granted), self.wait_limit)
            return True
        except (TimeoutError, asyncio.CancelledError) as exc:
            with self._mutex:
                try:
                    self._waiting.remove((loop, granted))
                    mine = False
                except ValueError:  # the turn was handed over meanwhile: pass it on
                    mine = True
            if mine:
                self._release()
            if isinstance(exc, asyncio.CancelledError):
                raise
            return False

    def _release(self) -> None:
        """Hands the turn to the writer that has waited longest (on its own loop), or frees it."""
        with self._mutex:
            if not self._waiting:
                self._held = False
                return
            loop, granted = self._waiting.popleft()
        loop.call_soon_threadsafe(_grant, granted)


def _grant(granted: asyncio.Future[None]) -> None:
    if not granted.done():
        granted.set_result(None)
