"""Reads of events. Tenant reads filter by org id here and nowhere else."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event


async def events_of_changes(session: AsyncSession, change_ids: list[int]) -> dict[int, list[Event]]:
    """The events already made from these changes, by change id (one query for a whole batch)."""
    found: dict[int, list[Event]] = {change_id: [] for change_id in change_ids}
    if change_ids:
        rows = await session.scalars(
            select(Event).where(Event.change_id.in_(change_ids)).order_by(Event.change_id, Event.seq)
        )
        for event in rows:
            if event.change_id is not None:  # always, given the filter; synthetic events have none
                found[event.change_id].append(event)
    return found


async def events_of_org(session: AsyncSession, org_id: int, *, limit: int = 100) -> list[Event]:
    rows = await session.scalars(
        select(Event)
        .where(Event.org_id == org_id)
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(limit)
    )
    return list(rows)


async def count_events(session: AsyncSession, *, org_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(Event)
    if org_id is not None:
        stmt = stmt.where(Event.org_id == org_id)
    return int(await session.scalar(stmt) or 0)
