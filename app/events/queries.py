"""Reads of events. Tenant reads filter by org id here and nowhere else."""

from __future__ import annotations

from sqlalchemy import select
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
