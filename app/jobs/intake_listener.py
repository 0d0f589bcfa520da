"""Wakes a separate ``wabawatch worker`` the moment the receiver commits deliveries (PostgreSQL).

The receiver's batch transaction ends with ``pg_notify(INTAKE_CHANNEL, '')``, delivered on commit;
each worker process listens on one asyncpg connection and sets its wake-up event. Without it a
worker in another process only noticed new deliveries at its next poll (0.5 s), which alone cost
most of the webhook-to-timeline time. Polling stays as the fallback: a lost notification (the
connection dropping) delays work by at most one poll, it never loses it.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import asyncpg  # type: ignore[import-untyped]

from app.db.engine import Database
from app.live.hub import asyncpg_dsn

log = logging.getLogger(__name__)

INTAKE_CHANNEL = "wabawatch_intake"
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)


class IntakeListener:
    def __init__(self, dsn: str, wakeup: asyncio.Event) -> None:
        self._dsn = dsn
        self._wakeup = wakeup
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    @classmethod
    def for_database(cls, db: Database, wakeup: asyncio.Event) -> IntakeListener | None:
        """None on SQLite, where the receiver and the worker share one process and one event."""
        return None if db.is_sqlite else cls(asyncpg_dsn(db), wakeup)

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="intake-listener")

    def _on_notify(self, _conn: object, _pid: int, _channel: str, _payload: str) -> None:
        self._wakeup.set()

    async def _listen_forever(self) -> None:
        failures = 0
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning(
                    "intake wake-ups: LISTEN failed (%s); polling meanwhile, retry in %.1fs", exc, delay
                )
                await asyncio.sleep(delay)
                continue
            failures = 0
            try:
                await self._listen_on(conn)
            finally:
                self.listening.clear()
                if not conn.is_closed():
                    await conn.close(timeout=2)

    async def _listen_on(self, conn: asyncpg.Connection) -> None:
        """Until the connection drops."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(INTAKE_CHANNEL, self._on_notify)
        self.listening.set()
        # Deliveries committed while nobody listened: look now rather than at the next poll.
        self._wakeup.set()
        await lost.wait()
        log.warning("intake wake-ups: LISTEN connection lost; reconnecting")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
