"""One PostgreSQL LISTEN connection that keeps itself open: reconnects with backoff when it drops.

Used by the live-updates hub (events for open streams) and by ``wabawatch worker`` (deliveries the
receiver committed). ``on_connect`` runs each time the connection is (re)opened, because
notifications sent while nobody listened are gone and the caller must look for itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Final

import asyncpg  # type: ignore[import-untyped]

from app.db.engine import Database

log = logging.getLogger(__name__)

RECONNECT_DELAYS: Final = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

OnNotify = Callable[[str], None]


def asyncpg_dsn(db: Database) -> str:
    """The app's database URL as a plain DSN for a raw asyncpg connection."""
    url = db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PgListener:
    def __init__(
        self, dsn: str, channel: str, on_notify: OnNotify, *, on_connect: Callable[[int], None] | None = None
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_notify = on_notify
        self._on_connect = on_connect
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        self.connects = 0  # how many times the connection was opened (tests, logs)

    @property
    def started(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name=f"listen-{self._channel}")

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._on_notify(payload)

    async def _listen_forever(self) -> None:
        failures = 0
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning("LISTEN %s: connection failed (%s); retrying in %.1fs", self._channel, exc, delay)
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
        await conn.add_listener(self._channel, self._notified)
        self.connects += 1
        if self._on_connect is not None:
            self._on_connect(self.connects)
        self.listening.set()
        await lost.wait()
        log.warning("LISTEN %s: connection lost; reconnecting", self._channel)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
