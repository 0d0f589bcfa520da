"""The in-process worker's SQLite engine runs each statement on its own thread (``app.db.inline``): no
helper thread, and transactions, savepoints and errors behave as through aiosqlite."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database, make_engine


@pytest.fixture
async def inline_db(tmp_path: Path) -> Database:
    db = Database(make_engine(f"sqlite:///{tmp_path / 'inline.sqlite3'}", inline=True))
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)"))
    return db


async def bodies(db: Database) -> list[str]:
    async with db.read() as session:
        return list((await session.scalars(text("SELECT body FROM notes ORDER BY id"))).all())


async def test_statements_run_on_the_calling_thread_without_a_helper_thread(tmp_path: Path) -> None:
    before = threading.active_count()
    db = Database(make_engine(f"sqlite:///{tmp_path / 'threads.sqlite3'}", inline=True))

    def register(dbapi_connection: Any, _record: Any) -> None:  # SQLite calls it on the thread running SQL
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)

    event.listen(db.engine.sync_engine, "connect", register)
    async with db.transaction() as session:
        ran_on = await session.scalar(text("SELECT thread_id()"))
    assert ran_on == threading.get_ident()
    assert threading.active_count() == before
    await db.dispose()


async def failing_unit_of_work(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('lost')"))
        raise RuntimeError("the unit of work fails")


async def failing_savepoint(session: AsyncSession) -> None:
    async with session.begin_nested():
        await session.execute(text("INSERT INTO notes (body) VALUES ('inner')"))
        await session.execute(text("INSERT INTO notes (body) VALUES ('kept')"))  # not unique


async def test_commit_rollback_and_savepoints_behave_as_through_aiosqlite(inline_db: Database) -> None:
    with pytest.raises(RuntimeError):
        await failing_unit_of_work(inline_db)
    async with inline_db.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('kept')"))
        with pytest.raises(IntegrityError):
            await failing_savepoint(session)
        await session.execute(text("INSERT INTO notes (body) VALUES ('after')"))
    assert await bodies(inline_db) == ["kept", "after"]
    await inline_db.dispose()


async def test_the_rows_are_in_the_file_for_other_connections(inline_db: Database, tmp_path: Path) -> None:
    async with inline_db.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('seen')"))
    await inline_db.dispose()
    with sqlite3.connect(tmp_path / "inline.sqlite3") as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("seen",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
