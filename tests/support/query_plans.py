"""The plan the database would run a statement with: EXPLAIN QUERY PLAN on SQLite; EXPLAIN on
PostgreSQL with sequential scans priced out, as a big table would price them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database


async def plan(db: Database, stmt: Select[Any]) -> str:
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    async with db.read() as session:
        if db.is_sqlite:
            rows = await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            return "\n".join(str(row[-1]) for row in rows)
        await _price_out_sequential_scans(session)
        rows = await session.execute(text(f"EXPLAIN {compiled}"))
        return "\n".join(str(row[0]) for row in rows)


async def plan_as_ran(db: Database, statement: str, parameters: Any) -> str:
    """The plan of a statement as the driver got it, with the same parameters (``captured``): what
    the planner decides with the values bound, as it did when the statement ran."""
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            result = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(row[-1]) for row in result)
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        await connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        result = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(str(row[0]) for row in result)


async def _price_out_sequential_scans(session: AsyncSession) -> None:
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    await session.execute(text("SET LOCAL enable_bitmapscan = off"))
