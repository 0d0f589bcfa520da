"""The worker loop: run every pass again at once while there is work; otherwise sleep until woken
(``wakeup``, set after deliveries are committed in this process) or until ``poll_interval`` passes.

A pass is an async callable returning how much it did (0 = nothing waiting). A pass that raises
(database restarting, a bug) is logged and the loop carries on after a growing pause, so one bad
moment never kills the worker. ``stop()`` lets the running pass finish its transaction, then the
loop ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

PassFn = Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class Pass:
    name: str
    run: PassFn


class Worker:
    def __init__(
        self,
        passes: Sequence[Pass],
        *,
        wakeup: asyncio.Event | None = None,
        poll_interval: float = 0.5,
        max_error_pause: float = 30.0,
    ) -> None:
        self.passes = list(passes)
        self.wakeup = wakeup if wakeup is not None else asyncio.Event()
        self.poll_interval = poll_interval
        self.max_error_pause = max_error_pause
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.errors = 0

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run_once(self) -> int:
        """Every pass once; the total amount of work done. Exceptions propagate."""
        done = 0
        for p in self.passes:
            if self._stopping:
                break
            done += await p.run()
            # A pass whose statements never wait (SQLite on the loop's own thread, ``app.db.inline``)
            # would otherwise run batch after batch without letting the loop's other work (the alert
            # sender's network I/O) in: each pass gives it a turn.
            await asyncio.sleep(0)
        return done

    async def run(self) -> None:
        failures = 0
        while not self._stopping:
            # Cleared before the passes run, so a wake-up during a pass triggers another pass.
            self.wakeup.clear()
            try:
                done = await self.run_once()
                failures = 0
            except Exception:
                failures += 1
                self.errors += 1
                log.exception("worker pass failed (%d in a row); retrying", failures)
                await self._sleep(min(self.max_error_pause, self.poll_interval * 2**failures))
                continue
            if done == 0:
                await self._sleep(self.poll_interval)

    async def _sleep(self, seconds: float) -> None:
        if self._stopping:
            return
        try:
            await asyncio.wait_for(self.wakeup.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def start(self, name: str = "worker") -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name=name)
        return self._task

    def stop(self) -> None:
        self._stopping = True
        self.wakeup.set()

    async def close(self, timeout: float = 30.0) -> None:
        """Stops and waits for the running pass to end; cancels it after ``timeout`` seconds."""
        self.stop()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, timeout=timeout)
        except TimeoutError:
            log.warning("worker did not stop within %.0f s; cancelled", timeout)
