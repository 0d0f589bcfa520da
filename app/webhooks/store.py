"""Where the group-commit writer's batches go: one statement per batch, committed before it returns.

A batch is one round trip made on the event loop, because under load (bench/ingest.py) every other
way cost more than the write: the async engine waits a turn of the busy loop per step, and a
thread must take the GIL back from the loop per round trip. So SQLite gets one plain ``sqlite3``
connection and one multi-row ``INSERT … ON CONFLICT`` in autocommit mode per batch
(``SqliteBatchStore`` says when a batch goes to a thread instead), and PostgreSQL gets asyncpg: one
prepared statement per batch in autocommit, the columns sent as arrays (binary protocol), the
worker's wake-up ``pg_notify`` inside the same statement. The column values go through the
columns' own bind processors, so the stored format is exactly the ORM's.
"""

from __future__ import annotations

import asyncio
import logging
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
from app.db.writes import WriteGate
from app.webhooks.listener import INTAKE_CHANNEL
from app.webhooks.models import DEDUPLICATED, WebhookDelivery

log = logging.getLogger(__name__)

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
# Only a body that is not JSON can meet the row kept for it here (a JSON body is stored pending,
# which the index leaves out, and the worker folds it): its repeats are counted at once.
ON_CONFLICT = (
    f"ON CONFLICT (app_pk, body_sha256) WHERE {DEDUPLICATED} DO UPDATE SET "
    f"duplicate_count = {TABLE}.duplicate_count + excluded.duplicate_count + 1, "
    "last_duplicate_at = excluded.received_at"
)
LOCK_WAIT_SECONDS = 10.0
BUSY_RETRY_SECONDS = 0.001
# SQLite: batches up to this many body bytes are written on the event loop (~1 ms of copying).
INLINE_MAX_BYTES = 1024 * 1024
# With synchronous=FULL every commit waits for the disk: those go to the writer thread.
INLINE_SYNCHRONOUS = {"OFF", "NORMAL"}
# About SQLite's default automatic checkpoint (1,000 pages of 4 KiB), and what a row adds to a body.
CHECKPOINT_EVERY_BYTES = 4 * 1024 * 1024
ROW_OVERHEAD_BYTES = 200
# SQLite allows 32766 parameters per statement; a batch is one statement, so it stays well below.
SQLITE_MAX_ROWS = 2000
PG_MAX_ROWS = 10_000
PG_CONNECT_TIMEOUT = 10.0
PG_UPSERT = (
    f"WITH stored AS (INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${n}::{t}' for n, t in enumerate(PG_ARRAY_TYPES, 1))}) "
    f"{ON_CONFLICT}) "
    # Delivered on commit: wakes `wabawatch worker` processes (app/webhooks/listener.py).
    f"SELECT pg_notify(${len(COLUMNS) + 1}, '')"
)


class BatchStore(Protocol):
    writers: int  # how many batches may be committing at once
    max_rows: int  # the most rows one call to ``store`` takes

    async def store(self, rows: list[dict[str, Any]]) -> None:
        """Commits ``rows`` in one transaction, or raises and stores none of them."""

    async def close(self) -> None: ...


def open_batch_store(
    database_url: str, *, sqlite_synchronous: str = "NORMAL", gate: WriteGate | None = None
) -> BatchStore:
    """``gate``: the process's SQLite write queue (``Database.write_gate``), which every intake
    batch joins like any other writer."""
    url = async_url(database_url)
    if is_sqlite(url):
        return SqliteBatchStore(database_url, sqlite_synchronous=sqlite_synchronous, gate=gate)
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
    """One connection, used by one batch at a time (SQLite has one writer at a time anyway).

    A batch is written on the event loop itself: handing it to a thread cost more than the write
    (the thread had to take the GIL back from the busy event loop, up to a 5 ms switch interval
    each time, while every request of the batch waited), and with the intake only appending (see
    ``WebhookDelivery``) a small batch is ~10 µs a row of SQLite's time. What could block the loop
    goes to the writer thread instead: a batch of large bodies, every batch when
    ``synchronous=FULL`` makes each commit wait for the disk, and a batch that finds the write lock
    taken. Checkpoints, which wait for the disk whatever the setting, run in a thread of their own
    on a connection of their own.
    """

    writers = 1
    max_rows = SQLITE_MAX_ROWS

    def __init__(
        self, database_url: str, *, sqlite_synchronous: str = "NORMAL", gate: WriteGate | None = None
    ) -> None:
        url = async_url(database_url)
        self._gate = gate or WriteGate(enabled=True)
        ensure_sqlite_dir(url)
        self._path = str(url.database)
        self._synchronous = sqlite_synchronous
        self._inline = sqlite_synchronous.upper() in INLINE_SYNCHRONOUS
        self._processors = _processors(pysqlite_dialect())
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-writer")
        self._checkpointer = Checkpointer(self._path)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit mode: each batch is one statement, which SQLite commits on its own.
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            _sqlite_pragmas(self._synchronous)(conn, None)
            # Writers of this process take turns through the write gate; the lock can only be
            # busy because of another process (a command). The writer never waits inside SQLite
            # for it (that would block the event loop): its thread retries every millisecond.
            conn.execute("PRAGMA busy_timeout=0")
            # Checkpoints are the Checkpointer's, off the event loop.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._conn = conn
        return self._conn

    def _params(self, rows: list[dict[str, Any]]) -> list[Any]:
        return [
            row[name] if process is None else process(row[name])
            for row in rows
            for name, process in self._processors
        ]

    def _execute(self, sql: str, params: list[Any]) -> None:
        self._connection().execute(sql, params)

    def _execute_waiting(self, sql: str, params: list[Any]) -> None:
        """In the writer thread: retries while another connection holds the write lock."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return self._execute(sql, params)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(BUSY_RETRY_SECONDS)

    async def store(self, rows: list[dict[str, Any]]) -> None:
        sql, params = sqlite_upsert(len(rows)), self._params(rows)
        async with self._gate.turn():
            await self._store(sql, params, rows)

    async def _store(self, sql: str, params: list[Any], rows: list[dict[str, Any]]) -> None:
        # One statement in autocommit mode: its own transaction, committed when it returns.
        size = sum(row["size"] for row in rows)
        inline = self._inline and size <= INLINE_MAX_BYTES
        if inline:
            try:
                self._execute(sql, params)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                # Another process holds the write lock: the writer thread tries again every
                # millisecond, off the event loop.
                inline = False
        if not inline:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._execute_waiting, sql, params)
        self._checkpointer.wrote(size + len(rows) * ROW_OVERHEAD_BYTES)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)
        await self._checkpointer.close()


class Checkpointer:
    """Copies the WAL back into the database file, in a thread, once about ``every`` bytes have
    been appended to it since the last time (SQLite's own automatic checkpoint would run inside
    the commit that crosses its threshold: on the event loop). PASSIVE: it never waits for a
    reader or a writer, and writers never wait for it."""

    def __init__(self, path: str, every: int = CHECKPOINT_EVERY_BYTES) -> None:
        self._path = path
        self._every = every
        self._pending = 0
        self._running: asyncio.Future[None] | None = None
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-checkpoint")
        self.checkpoints = 0

    def wrote(self, size: int) -> None:
        self._pending += size
        if self._pending >= self._every and (self._running is None or self._running.done()):
            self._pending = 0
            self._running = asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)
            self._running.add_done_callback(self._done)

    def _checkpoint(self) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=1000")
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.checkpoints += 1

    def _done(self, future: asyncio.Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            # Nothing is lost: the rows are committed in the WAL, and the next one tries again.
            log.warning("WAL checkpoint failed (%s)", type(future.exception()).__name__)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        if self._running is not None:
            await asyncio.gather(self._running, return_exceptions=True)
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
