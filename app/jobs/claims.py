"""Claiming rows of a table used as a queue.

One statement: ``WITH picked AS [MATERIALIZED] (SELECT id … LIMIT n [FOR UPDATE SKIP LOCKED])
UPDATE … WHERE id IN (SELECT id FROM picked) RETURNING``.
On PostgreSQL the claimed rows stay locked until the caller's transaction ends, so concurrent
workers skip them and a crashed worker's claim simply rolls back. On SQLite there is one writer at a
time and the statement is atomic; because it writes, it also makes the driver open the transaction,
so the savepoints taken after it nest inside that transaction as they should. When nothing is due,
a read says so first and nothing is written (an idle pass takes no write lock).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnExpressionArgument, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def any_due(
    session: AsyncSession,
    id_column: InstrumentedAttribute[int],
    *,
    where: Sequence[ColumnExpressionArgument[bool]],
) -> bool:
    """Whether a row matches ``where``: a read, which takes no lock."""
    return await session.scalar(select(id_column).where(*where).limit(1)) is not None


async def claim(
    session: AsyncSession,
    id_column: InstrumentedAttribute[int],
    attempts_column: InstrumentedAttribute[int],
    *,
    where: Sequence[ColumnExpressionArgument[bool]],
    limit: int,
    values: Mapping[str, Any] | None = None,
    skip_locked: bool = True,
    probe: bool = True,
) -> list[tuple[int, int]]:
    """Claims up to ``limit`` rows matching ``where`` (oldest id first): counts the attempt, sets
    ``values`` and returns ``(id, attempts)`` of each, in id order. ``skip_locked=False`` waits for
    rows another transaction holds instead of passing them by (``reprocess`` wants every row).
    ``probe=False``: the caller has just read rows that match, so the read that spares an idle pass
    the write lock would only cost a round trip."""
    table = id_column.class_
    if probe and dialect_name(session) == "sqlite" and not await any_due(session, id_column, where=where):
        # Nothing due: a read, so that an idle pass does not take SQLite's one write lock (which the
        # receiver needs to commit the deliveries Meta is waiting on). The caller ends its
        # transaction without needing one.
        return []
    pick = select(id_column).where(*where).order_by(id_column).limit(limit)
    if skip_locked and dialect_name(session) == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # The pick runs once, before the update, and what it picked is kept: as a plain ``IN (SELECT …)``
    # PostgreSQL may run it again for each row the update visits, and each run would skip the rows
    # the statement has just updated and lock the next ones, claiming every due row.
    picked = pick.cte("picked")
    if dialect_name(session) == "postgresql":
        picked = picked.prefix_with("MATERIALIZED")
    stmt = (
        update(table)
        .where(id_column.in_(select(picked.c[id_column.key])))
        .values({attempts_column: attempts_column + 1, **(values or {})})
        .returning(id_column, attempts_column)
    )
    result = await session.execute(stmt, execution_options={"synchronize_session": False})
    return sorted((int(row[0]), int(row[1])) for row in result.all())
