"""SQLite for an event loop of its own: each statement runs on the loop's thread, not on a helper thread.

The async engine reaches SQLite through aiosqlite, which runs every call (a cursor, an execute, a
fetch, a close: several per statement) on a thread of the connection's own and wakes the loop when
it is done. Each of those hand-overs costs a thread switch and a loop wake-up: about 0.8 ms per
statement on this project's 2-core machine with nothing else running (``SELECT 1``: 874 µs through
aiosqlite, 8 µs through ``sqlite3``), more when the web app's thread holds the GIL. A processing
batch makes dozens of statements, so the in-process worker spent most of its time waiting for
hand-overs, and an intake batch waited behind them for its turn to write.

The in-process worker (``app.worker.InProcessWorkers``) has a thread and loop of its own, with
nothing on that loop that a statement must not hold up: there, ``InlineConnection`` runs each call
at once, on the calling thread (``sqlite3`` releases the GIL while SQLite works, so the web app's
thread runs meanwhile). The web app keeps aiosqlite: a long query there must not stop it answering.
A statement that finds the write lock taken by another process (a command) waits on this thread,
within SQLite's busy timeout, as the statement would have waited anyway.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite


class _AtOnce:
    """What aiosqlite's connection puts its calls on (``_tx``), run at once: SQLAlchemy's adapter
    puts the isolation-level change there directly."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection with its calls run on the calling thread (its own thread never starts)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _AtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Any:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_creator(path: str) -> Callable[[], Any]:
    """For ``create_async_engine(async_creator=…)``: a new connection to the database file ``path``."""

    async def connect() -> InlineConnection:
        return await InlineConnection(partial(sqlite3.connect, path, check_same_thread=False))._connect()

    return connect
