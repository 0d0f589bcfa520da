"""The differences between a live database's schema and a set of models, as Alembic's autogenerate
compares them."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

# What the comparison looks at: tables, columns, nullability, types, server defaults, indexes,
# unique constraints and foreign keys. Nothing is filtered out: on both engines the comparison
# comes back empty, so any difference it reports is real drift.
COMPARE_OPTS = {"compare_type": True, "compare_server_default": True}


def differences(engine_connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(engine_connection, opts=COMPARE_OPTS)
    return list(compare_metadata(context, metadata))


async def diff_against(engine: AsyncEngine, metadata: MetaData) -> list[Any]:
    async with engine.connect() as connection:
        return await connection.run_sync(differences, metadata)
