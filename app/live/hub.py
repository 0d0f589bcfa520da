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
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.pg_listen import PgListener, asyncpg_dsn

log = logging.getLogger(__name__)

CHANNEL: Final = "wabawatch_events"
QUEUE_SIZE: Final = 64
# NOTIFY payloads must stay under 8000 bytes: ids go out in chunks well below that.
IDS_PER_NOTIFY: Final = 300


@dataclass(frozen=True)
class Published:
    """News of the org: these events are new; no ids means that only its state changed."""

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

    async def publish_state(self, session: AsyncSession, org_id: int) -> None:
        """Something the org's pages show changed without a new event (Meta verified its callback
        URL): its streams send a ``state`` message, and the pages re-read what they show."""
        raise NotImplementedError

    async def close(self) -> None:
        self.closing.set()
        self.broadcast(CLOSED)


class MemoryHub(Hub):
    """One process (SQLite): publishing is handing the notice to this process's queues."""

    async def publish(self, session: AsyncSession, org_id: int, event_ids: Sequence[int]) -> None:
        if event_ids:
            self.deliver(Published(org_id, tuple(event_ids)))

    async def publish_state(self, session: AsyncSession, org_id: int) -> None:
        self.deliver(Published(org_id, ()))


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
        self._listener = PgListener(dsn, CHANNEL, self._on_notify, on_connect=self._on_connect)

    @property
    def connects(self) -> int:
        """How many times the LISTEN connection was opened (tests, logs)."""
        return self._listener.connects

    async def publish(self, session: AsyncSession, org_id: int, event_ids: Sequence[int]) -> None:
        for start in range(0, len(event_ids), IDS_PER_NOTIFY):
            chunk = event_ids[start : start + IDS_PER_NOTIFY]
            await session.execute(select(func.pg_notify(CHANNEL, encode(org_id, chunk))))

    async def publish_state(self, session: AsyncSession, org_id: int) -> None:
        await session.execute(select(func.pg_notify(CHANNEL, encode(org_id, ()))))

    async def _ready(self) -> None:
        if not self._listener.started and not self.closing.is_set():
            self._listener.start()
        with suppress(TimeoutError):
            await asyncio.wait_for(self._listener.listening.wait(), 5.0)

    def _on_notify(self, payload: str) -> None:
        notice = decode(payload)
        if notice is not None:
            self.deliver(notice)

    def _on_connect(self, connects: int) -> None:
        if connects > 1:
            # Notifications sent while we were away are gone: streams re-read the table.
            self.broadcast(RESYNC)

    async def close(self) -> None:
        await super().close()
        await self._listener.close()


_hubs: weakref.WeakKeyDictionary[Database, Hub] = weakref.WeakKeyDictionary()


def hub_for(db: Database) -> Hub:
    """This process's hub for ``db`` (the web app's streams and the worker's after-commit hook
    share it, so on SQLite an in-process worker reaches the streams directly)."""
    hub = _hubs.get(db)
    if hub is None:
        hub = MemoryHub() if db.is_sqlite else PgHub(asyncpg_dsn(db))
        _hubs[db] = hub
    return hub
