"""Where the group-commit writer's batches go: one statement, one transaction, one thread hop.

Measured on this machine under load (wrk, 64 connections, SQLite WAL):
- through the async engine a batch costs several awaits (checkout, begin, execute, commit, reset),
  each waiting a full turn of a busy event loop: 15 ms per batch of 32;
- a sync engine driven from one dedicated thread makes the transaction a single await, but
  SQLAlchemy's executemany still spent ~80 µs of CPU per row, and the driver released and re-took
  the GIL on every row, each time waiting for the busy event loop to let go of it.
So the batch is one multi-row ``INSERT … ON CONFLICT`` written here in SQL (the column values still go
through the columns' own bind processors, so the stored format is exactly the ORM's).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from app.db.engine import _sqlite_pragmas
from app.db.url import async_url, is_sqlite
from app.jobs.intake_listener import INTAKE_CHANNEL
from app.webhooks.models import WebhookDelivery

SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
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
LOCK_WAIT_SECONDS = 10.0
# SQLite allows 32766 parameters per statement; keep batches well below.
MAX_ROWS_PER_STATEMENT = 2000


def sync_engine(database_url: str, *, sqlite_synchronous: str = "NORMAL", connections: int = 1) -> Engine:
    """A sync engine on the same database as the app's async one (same SQLite pragmas)."""
    url = async_url(database_url)
    url = url.set(drivername=SYNC_DRIVERS[url.get_backend_name()])
    if is_sqlite(url):
        engine = create_engine(url, pool_size=connections, max_overflow=0)
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_synchronous))
        event.listen(engine, "connect", _no_busy_wait)
        return engine
    return create_engine(url, pool_size=connections, max_overflow=0, pool_pre_ping=True)


def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's own busy handler sleeps with a growing backoff (up to 100 ms a try), so the write lock
    # freed by the worker was often taken again before the writer woke; the writer retries itself.
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def _is_busy(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def _unchanged(value: Any) -> Any:
    return value


@lru_cache(maxsize=64)
def upsert_sql(rows: int, placeholder: str) -> str:
    """INSERT … ON CONFLICT (app_pk, body_sha256) DO UPDATE: a body seen before only counts."""
    table = WebhookDelivery.__tablename__
    one = "(" + ", ".join([placeholder] * len(COLUMNS)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES {', '.join([one] * rows)} "
        "ON CONFLICT (app_pk, body_sha256) DO UPDATE SET "
        f"duplicate_count = {table}.duplicate_count + excluded.duplicate_count + 1, "
        "last_duplicate_at = excluded.received_at"
    )


class BatchStore:
    def __init__(self, engine: Engine, *, threads: int = 1) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._placeholder = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        table = WebhookDelivery.__table__
        self._processors: list[Callable[[Any], Any]] = [
            table.c[name].type.bind_processor(engine.dialect) or _unchanged for name in COLUMNS
        ]
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook-writer")
        self.threads = threads

    @classmethod
    def for_url(cls, database_url: str, *, sqlite_synchronous: str = "NORMAL") -> BatchStore:
        """One thread and connection for SQLite (one writer at a time anyway); a few on PostgreSQL."""
        threads = 1 if is_sqlite(async_url(database_url)) else 4
        engine = sync_engine(database_url, sqlite_synchronous=sqlite_synchronous, connections=threads)
        return cls(engine, threads=threads)

    def _store(self, rows: list[dict[str, Any]]) -> None:
        """SQLite: while another connection holds the write lock, retry every millisecond (the
        intake answers Meta, so it goes before the worker) for up to ``LOCK_WAIT_SECONDS``."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return self._store_once(rows)
            except OperationalError as exc:
                if not (self._sqlite and _is_busy(exc)) or time.monotonic() > deadline:
                    raise
            time.sleep(0.001)

    def _store_once(self, rows: list[dict[str, Any]]) -> None:
        with self._engine.begin() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            for start in range(0, len(rows), MAX_ROWS_PER_STATEMENT):
                chunk = rows[start : start + MAX_ROWS_PER_STATEMENT]
                params = tuple(
                    process(row[name])
                    for row in chunk
                    for name, process in zip(COLUMNS, self._processors, strict=True)
                )
                conn.exec_driver_sql(upsert_sql(len(chunk), self._placeholder), params)
            if not self._sqlite:
                # Delivered on commit: wakes `wabawatch worker` processes (app/jobs/intake_listener.py).
                conn.exec_driver_sql(f"SELECT pg_notify('{INTAKE_CHANNEL}', '')")

    async def store(self, rows: list[dict[str, Any]]) -> None:
        """Commits ``rows`` in one transaction, or raises and stores none of them."""
        await asyncio.get_running_loop().run_in_executor(self._threads, self._store, rows)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._engine.dispose()
