"""Reads of what wabawatch keeps of its Graph calls: a WABA's latest usage and its subscription
history. Every read filters by org id. The connection's reads of Meta apps and WABAs are in
``app.meta.queries`` and ``app.wabas.queries``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import SubscriptionChange, WabaUsage


async def usage_of(session: AsyncSession, *, org_id: int, waba_pk: int) -> WabaUsage | None:
    found: WabaUsage | None = await session.scalar(
        select(WabaUsage).where(WabaUsage.org_id == org_id, WabaUsage.waba_pk == waba_pk)
    )
    return found


async def subscription_changes(
    session: AsyncSession, *, org_id: int, waba_pk: int, limit: int = 10
) -> list[SubscriptionChange]:
    rows = await session.scalars(
        select(SubscriptionChange)
        .where(SubscriptionChange.org_id == org_id, SubscriptionChange.waba_pk == waba_pk)
        .order_by(SubscriptionChange.created_at.desc(), SubscriptionChange.id.desc())
        .limit(limit)
    )
    return list(rows)
