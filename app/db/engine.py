"""Engine and transactions. The caller owns the transaction: services only flush."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.db.inline import inline_creator
from app.db.types import set_keyring
from app.db.url import async_url, ensure_sqlite_dir, is_sqlite
from app.db.writes import WriteGate
from app.lib.crypto import Keyring
from app.settings import Settings


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return on_connect


def make_engine(
    database_url: str, *, sqlite_synchronous: str = "NORMAL", inline: bool = False, **kwargs: Any
) -> AsyncEngine:
    """``inline``: SQLite statements run on the calling thread (``app.db.inline``), for a loop that
    has nothing to do while one runs (the in-process worker's); no effect on PostgreSQL."""
    url = async_url(database_url)
    if is_sqlite(url):
        ensure_sqlite_dir(url)
        if inline and url.database:
            kwargs["async_creator"] = inline_creator(url.database)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(sqlite_synchronous))
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


class Database:
    def __init__(self, engine: AsyncEngine, *, write_gate: WriteGate | None = None) -> None:
        """``write_gate``: the process's queue for SQLite's write lock, when another ``Database``
        of the process (the in-process worker's, on its own thread) already has one."""
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        # Every transaction of the process takes its turn at SQLite's one write lock (app.db.writes);
        # the intake's batch store joins the same queue.
        self.write_gate = write_gate or WriteGate(enabled=engine.dialect.name == "sqlite")

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends normally, rolls back on error. On SQLite
        it waits for the process's write turn first (``read`` does not)."""
        async with self.write_gate.turn(), self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def writes_of(self, session: AsyncSession) -> AsyncIterator[None]:
        """The writes of a unit of work whose reads ran first, in ``session`` (from ``read``): takes
        the process's write turn for the block, commits at its end, rolls back on error.

        On SQLite a read takes no lock (WAL), and the driver opens the database transaction only at
        the first write, so what a batch reads beforehand costs the writers queued behind it nothing:
        only its writes hold the turn. What was read may have changed by the time the turn comes;
        the caller's first write checks what it relies on (a claim takes only rows still due)."""
        async with self.write_gate.turn():
            try:
                yield
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def dispose(self) -> None:
        await self.engine.dispose()


def open_database(settings: Settings) -> Database:
    """The database of a process that is not the web app (a command, the worker), with the
    keyring that decrypts its secrets."""
    set_keyring(Keyring(settings.encryption_keys.get_secret_value()))
    return Database(make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous))
