"""Who is watching which org, and how news of committed events reaches them.

A notification is only a wake-up hint carrying event ids; the events table stays the source of
truth (the stream reads the rows, and re-reads after a ``RESYNC``).

``MemoryHub`` (SQLite: one process) hands notifications to in-process queues. ``PgHub`` publishes
with ``pg_notify`` and listens on ONE dedicated asyncpg connection per process, fanning out to the
same kind of queues, so an event processed by any worker reaches streams served by any web process.
Queues are bounded: a subscriber that falls behind has its backlog replaced by ``RESYNC`` and
publishing never waits for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Final

import anyio
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database

log = logging.getLogger(__name__)

CHANNEL: Final = "wabawatch_events"
QUEUE_SIZE: Final = 64
# NOTIFY payloads must stay under 8000 bytes: ids go out in chunks well below that.
IDS_PER_NOTIFY: Final = 300
RECONNECT_DELAYS: Final = (0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Published:
    org_id: int
    event_ids: tuple[int, ...]


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# Something may have been missed (queue overflow, LISTEN reconnect): re-read from the table.
RESYNC: Final = _Marker("RESYNC")
# The hub is closing (app shutdown): the stream ends.
CLOSED: Final = _Marker("CLOSED")

Notice = Published | _Marker


class Subscription:
    def __init__(self, org_id: int) -> None:
        self.org_id = org_id
        self.queue: asyncio.Queue[Notice] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, notice: Notice) -> None:
        """Never blocks: a full queue is emptied and left holding a single RESYNC."""
        try:
            self.queue.put_nowait(notice)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(CLOSED if notice is CLOSED else RESYNC)

    async def next(self, timeout: float) -> Notice | None:
        """The next notice, or None when ``timeout`` seconds pass without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class Hub:
    """The subscribers of this process, per org. Subclasses say how ``publish`` travels."""

    def __init__(self) -> None:
        self._subscribers: dict[int, set[Subscription]] = {}
        self.closing = anyio.Event()

    def subscriber_count(self, org_id: int | None = None) -> int:
        if org_id is not None:
            return len(self._subscribers.get(org_id, ()))
        return sum(len(subs) for subs in self._subscribers.values())

    @asynccontextmanager
    async def subscribe(self, org_id: int) -> AsyncIterator[Subscription]:
        sub = Subscription(org_id)
        self._subscribers.setdefault(org_id, set()).add(sub)
        if self.closing.is_set():
            sub.offer(CLOSED)
        try:
            await self._ready()
            yield sub
        finally:
            subs = self._subscribers.get(org_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[org_id]

    def deliver(self, notice: Published) -> None:
        for sub in list(self._subscribers.get(notice.org_id, ())):
            sub.offer(notice)

    def broadcast(self, marker: _Marker) -> None:
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                sub.offer(marker)

    async def _ready(self) -> None:
        """Waits (briefly) until notifications can arrive; nothing to wait for in memory."""

    async def publish(self, session: AsyncSession, org_id: int, event_ids: Sequence[int]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        self.closing.set()
        self.broadcast(CLOSED)


class MemoryHub(Hub):
    """One process (SQLite): publishing is handing the notice to this process's queues."""

    async def publish(self, session: AsyncSession, org_id: int, event_ids: Sequence[int]) -> None:
        if event_ids:
            self.deliver(Published(org_id, tuple(event_ids)))


def encode(org_id: int, event_ids: Sequence[int]) -> str:
    return json.dumps({"org": org_id, "ids": list(event_ids)}, separators=(",", ":"))


def decode(payload: str) -> Published | None:
    try:
        data = json.loads(payload)
        org_id, ids = data["org"], data["ids"]
        if isinstance(org_id, int) and isinstance(ids, list) and all(isinstance(i, int) for i in ids):
            return Published(org_id, tuple(ids))
    except (ValueError, KeyError, TypeError):
        pass
    log.warning("ignored a malformed %s notification (%d characters)", CHANNEL, len(payload))
    return None


class PgHub(Hub):
    """PostgreSQL: NOTIFY inside the caller's transaction (delivered on commit, dropped on
    rollback) and one LISTEN connection per process, opened when the first stream subscribes and
    reopened with backoff when it drops (then every subscriber gets a RESYNC)."""

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self._dsn = dsn
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.connects = 0  # how many times the LISTEN connection was opened (tests, logs)

    async def publish(self, session: AsyncSession, org_id: int, event_ids: Sequence[int]) -> None:
        for start in range(0, len(event_ids), IDS_PER_NOTIFY):
            chunk = event_ids[start : start + IDS_PER_NOTIFY]
            await session.execute(select(func.pg_notify(CHANNEL, encode(org_id, chunk))))

    async def _ready(self) -> None:
        if self._task is None and not self.closing.is_set():
            self._task = asyncio.create_task(self._listen_forever(), name="live-hub-listen")
        with suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 5.0)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        notice = decode(payload)
        if notice is not None:
            self.deliver(notice)

    async def _listen_forever(self) -> None:
        failures = 0
        while not self.closing.is_set():
            try:
                conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning("live updates: LISTEN connection failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            try:
                await self._listen_on(conn)
            finally:
                self._listening.clear()
                if not conn.is_closed():
                    await conn.close(timeout=2)

    async def _listen_on(self, conn: asyncpg.Connection) -> None:
        """Until the connection drops."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(CHANNEL, self._on_notify)
        self.connects += 1
        if self.connects > 1:
            # Notifications sent while we were away are gone: streams re-read the table.
            self.broadcast(RESYNC)
        self._listening.set()
        await lost.wait()
        log.warning("live updates: LISTEN connection lost; reconnecting")

    async def close(self) -> None:
        await super().close()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None


_hubs: weakref.WeakKeyDictionary[Database, Hub] = weakref.WeakKeyDictionary()


def asyncpg_dsn(db: Database) -> str:
    url = db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def hub_for(db: Database) -> Hub:
    """This process's hub for ``db`` (the web app's streams and the worker's after-commit hook
    share it, so on SQLite an in-process worker reaches the streams directly)."""
    hub = _hubs.get(db)
    if hub is None:
        hub = MemoryHub() if db.is_sqlite else PgHub(asyncpg_dsn(db))
        _hubs[db] = hub
    return hub
