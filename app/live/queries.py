"""Reads for live updates, always scoped by org id; the filters are the timeline's own
(``app.events.filters``), so a stream shows what its page shows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.filters import Filters, apply_filters
from app.events.models import Event


async def orgs_of_events(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, list[int]]:
    """The given events grouped by org (unrouted events, with no org, are nobody's news)."""
    found: dict[int, list[int]] = {}
    if not event_ids:
        return found
    rows = await session.execute(
        select(Event.org_id, Event.id)
        .where(Event.id.in_(list(event_ids)), Event.org_id.is_not(None))
        .order_by(Event.id)
    )
    for org_id, event_id in rows:
        if org_id is not None:
            found.setdefault(org_id, []).append(event_id)
    return found


async def events_by_ids(
    session: AsyncSession, *, org_id: int, where: Filters, ids: Sequence[int]
) -> list[Event]:
    """Those of ``ids`` that belong to the org and match the filter, oldest id first."""
    if not ids:
        return []
    stmt = select(Event).where(Event.org_id == org_id, Event.id.in_(list(ids)))
    stmt = apply_filters(stmt, where).order_by(Event.id)
    return list(await session.scalars(stmt))


async def events_after(
    session: AsyncSession, *, org_id: int, where: Filters, after_id: int, limit: int
) -> list[Event]:
    """The org's matching events with an id above ``after_id``, oldest id first, at most ``limit``."""
    stmt = select(Event).where(Event.org_id == org_id, Event.id > after_id)
    stmt = apply_filters(stmt, where).order_by(Event.id).limit(limit)
    return list(await session.scalars(stmt))


async def latest_event_id(session: AsyncSession, *, org_id: int) -> int:
    """The org's highest event id (0 when it has none): where a fresh stream starts."""
    found = await session.scalar(select(func.max(Event.id)).where(Event.org_id == org_id))
    return int(found or 0)
