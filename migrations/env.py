"""Alembic runs on the same async engine as the app; batch mode keeps ALTERs working on SQLite."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from app.db.engine import make_engine
from app.db.types import EncryptedStr, UTCDateTime
from app.schema import Base
from app.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our TypeDecorators as their plain SQL types so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, EncryptedStr):
        return "sa.Text()"
    return False


def _foreign_keys(connection: Connection, on: bool) -> None:
    # SQLite ignores this pragma inside a transaction: it goes in on its own, committed.
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()


def _dangling(connection: Connection) -> int:
    return len(connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall())


def _configure(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    dangling_before: int | None = None  # counted only when this run changes the schema on SQLite
    if sqlite:
        # Batch mode rebuilds a table by copying it and dropping the original. With foreign keys
        # on, that DROP deletes the rows of other tables that reference it (ON DELETE CASCADE), so
        # they are off while migrating, and the references are checked before the commit instead.
        # The check reads every reference, so it is skipped when nothing is to be migrated (the
        # release step runs this on every deploy).
        moving = (
            MigrationContext.configure(connection).get_current_revision() != context.get_revision_argument()
        )
        connection.commit()
        _foreign_keys(connection, False)
        if moving:
            dangling_before = _dangling(connection)
            connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        render_item=_render_item,
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
            if dangling_before is not None and (dangling := _dangling(connection)) > dangling_before:
                raise RuntimeError(
                    f"migrating would leave {dangling - dangling_before} rows pointing at nothing"
                )
    finally:
        if sqlite:
            _foreign_keys(connection, True)


async def _run_async() -> None:
    engine = make_engine(_database_url(), poolclass=_null_pool())
    async with engine.connect() as connection:
        await connection.run_sync(_configure)
    await engine.dispose()


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `wabawatch db upgrade`")

connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    asyncio.run(_run_async())
