"""Where the group-commit writer's batches go: one statement per batch, committed before it returns.

Measured on this machine under load (64 connections, 2 cores shared with the load generator):
- through the async engine a batch costs several awaits (checkout, begin, execute, commit, reset),
  each waiting a full turn of a busy event loop: 15 ms per batch of 32;
- SQLAlchemy's executemany spent ~80 µs of CPU per row, and every round trip made from a thread
  had to take the GIL back from the busy event loop (up to the 5 ms switch interval each time);
- psycopg from a thread (pool pre-ping, BEGIN, a multi-row INSERT parsed and planned anew for each
  batch size, pg_notify, COMMIT) cost ~45 µs of client CPU per row and five round trips per batch.
So SQLite gets one plain ``sqlite3`` connection in one thread (the C library releases the GIL while
it works) and one multi-row ``INSERT … ON CONFLICT`` in autocommit mode per batch. PostgreSQL gets
asyncpg on the event loop itself: one prepared statement per batch in autocommit, the columns sent
as arrays (binary protocol), the worker's wake-up ``pg_notify`` inside the same statement, so one
round trip commits the batch. The column values go through the columns' own bind processors, so
the stored format is exactly the ORM's.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.dialects.sqlite.pysqlite import dialect as pysqlite_dialect
from sqlalchemy.engine import Dialect

from app.db.engine import _sqlite_pragmas
from app.db.url import async_url, ensure_sqlite_dir, is_sqlite
from app.jobs.intake_listener import INTAKE_CHANNEL
from app.webhooks.models import WebhookDelivery

COLUMNS = (
    "app_pk",
    "body_sha256",
    "body",
    "size",
    "received_at",
    "client_cert_verified",
    "duplicate_count",
    "last_duplicate_at",
    "status",
    "attempts",
    "next_attempt_at",
)
# PostgreSQL array types of COLUMNS, in order, for unnest().
PG_ARRAY_TYPES = (
    "bigint[]",
    "varchar[]",
    "bytea[]",
    "integer[]",
    "timestamptz[]",
    "boolean[]",
    "integer[]",
    "timestamptz[]",
    "varchar[]",
    "integer[]",
    "timestamptz[]",
)
TABLE = WebhookDelivery.__tablename__
# A body seen before only counts (PostgreSQL refuses to update one row twice in a statement, so
# the writer merges repeats within a batch first and passes their count in duplicate_count).
ON_CONFLICT = (
    "ON CONFLICT (app_pk, body_sha256) DO UPDATE SET "
    f"duplicate_count = {TABLE}.duplicate_count + excluded.duplicate_count + 1, "
    "last_duplicate_at = excluded.received_at"
)
LOCK_WAIT_SECONDS = 10.0
# SQLite allows 32766 parameters per statement; a batch is one statement, so it stays well below.
SQLITE_MAX_ROWS = 2000
PG_MAX_ROWS = 10_000
PG_CONNECT_TIMEOUT = 10.0
PG_UPSERT = (
    f"WITH stored AS (INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${n}::{t}' for n, t in enumerate(PG_ARRAY_TYPES, 1))}) "
    f"{ON_CONFLICT}) "
    # Delivered on commit: wakes `wabawatch worker` processes (app/jobs/intake_listener.py).
    f"SELECT pg_notify(${len(COLUMNS) + 1}, '')"
)


class BatchStore(Protocol):
    writers: int  # how many batches may be committing at once
    max_rows: int  # the most rows one call to ``store`` takes

    async def store(self, rows: list[dict[str, Any]]) -> None:
        """Commits ``rows`` in one transaction, or raises and stores none of them."""

    async def close(self) -> None: ...


def open_batch_store(database_url: str, *, sqlite_synchronous: str = "NORMAL") -> BatchStore:
    url = async_url(database_url)
    if is_sqlite(url):
        return SqliteBatchStore(database_url, sqlite_synchronous=sqlite_synchronous)
    return PgBatchStore(url.set(drivername="postgresql").render_as_string(hide_password=False))


Processor = Callable[[Any], Any] | None


def _processors(dialect: Dialect) -> list[tuple[str, Processor]]:
    """Each column with its bind processor for ``dialect`` (None: the value goes as it is)."""
    table = WebhookDelivery.__table__
    return [(name, table.c[name].type.bind_processor(dialect)) for name in COLUMNS]


@lru_cache(maxsize=64)
def sqlite_upsert(rows: int) -> str:
    one = "(" + ", ".join(["?"] * len(COLUMNS)) + ")"
    return f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES {', '.join([one] * rows)} {ON_CONFLICT}"


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "database is locked" in str(exc) or "database is busy" in str(exc)


class SqliteBatchStore:
    """One connection in one thread: SQLite has one writer at a time anyway."""

    writers = 1
    max_rows = SQLITE_MAX_ROWS

    def __init__(self, database_url: str, *, sqlite_synchronous: str = "NORMAL") -> None:
        url = async_url(database_url)
        ensure_sqlite_dir(url)
        self._path = str(url.database)
        self._synchronous = sqlite_synchronous
        self._processors = _processors(pysqlite_dialect())
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-writer")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit mode: each batch is one statement, which SQLite commits on its own.
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            _sqlite_pragmas(self._synchronous)(conn, None)
            # SQLite's own busy handler sleeps with a growing backoff (up to 100 ms a try), so the
            # write lock freed by the worker was often taken again before the writer woke; the
            # writer retries itself, every millisecond (the intake answers Meta, so it goes first).
            conn.execute("PRAGMA busy_timeout=0")
            self._conn = conn
        return self._conn

    def _store(self, rows: list[dict[str, Any]]) -> None:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return self._store_once(rows)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(0.001)

    def _store_once(self, rows: list[dict[str, Any]]) -> None:
        # One statement in autocommit mode is its own transaction, and one call into SQLite: each
        # call lets go of the GIL, and taking it back from the busy event loop can take a while.
        params = [
            row[name] if process is None else process(row[name])
            for row in rows
            for name, process in self._processors
        ]
        self._connection().execute(sqlite_upsert(len(rows)), params)

    async def store(self, rows: list[dict[str, Any]]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._store, rows)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)


class PgBatchStore:
    """A few asyncpg connections, one per batch being committed, opened on first use."""

    writers = 4
    max_rows = PG_MAX_ROWS

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._processors = _processors(asyncpg_dialect())  # type: ignore[no-untyped-call]
        self._idle: list[asyncpg.Connection] = []
        self._open: set[asyncpg.Connection] = set()

    async def store(self, rows: list[dict[str, Any]]) -> None:
        columns: list[list[Any]] = [[] for _ in COLUMNS]
        for row in rows:
            for values, (name, process) in zip(columns, self._processors, strict=True):
                values.append(row[name] if process is None else process(row[name]))
        conn = await self._connection()
        try:
            # Autocommit: the one statement is the transaction; the rows are committed when it returns.
            await conn.execute(PG_UPSERT, *columns, INTAKE_CHANNEL)
        except BaseException:
            # A statement that failed left no transaction open, but the connection may be broken
            # (or the wait cancelled mid-statement): never reuse it.
            self._open.discard(conn)
            conn.terminate()
            raise
        self._idle.append(conn)

    async def _connection(self) -> asyncpg.Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():  # closed by the server while idle (restart, idle timeout)
                return conn
            self._open.discard(conn)
        conn = await asyncpg.connect(self._dsn, timeout=PG_CONNECT_TIMEOUT)
        self._open.add(conn)
        return conn

    async def close(self) -> None:
        conns, self._open, self._idle = self._open, set(), []
        for conn in conns:
            try:
                await conn.close(timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                conn.terminate()
