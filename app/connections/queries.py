"""Reads for the Graph connection: usable Meta apps, an org's WABA by id, its latest usage and its
subscription history. Every tenant read filters by org id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import SubscriptionChange, WabaUsage
from app.meta.models import MetaApp
from app.wabas.models import Waba


async def usable_apps(session: AsyncSession, *, org_id: int) -> list[MetaApp]:
    """The org's own Meta apps and the platform's (org_id NULL), the platform's first."""
    rows = await session.scalars(
        select(MetaApp)
        .where(or_(MetaApp.org_id == org_id, MetaApp.org_id.is_(None)))
        .order_by(MetaApp.org_id.is_not(None), MetaApp.name, MetaApp.app_id)
    )
    return list(rows)


async def usable_app(session: AsyncSession, *, org_id: int, app_id: str) -> MetaApp | None:
    found: MetaApp | None = await session.scalar(
        select(MetaApp).where(
            MetaApp.app_id == app_id, or_(MetaApp.org_id == org_id, MetaApp.org_id.is_(None))
        )
    )
    return found


async def waba(session: AsyncSession, *, org_id: int, waba_pk: int) -> Waba | None:
    found: Waba | None = await session.scalar(select(Waba).where(Waba.id == waba_pk, Waba.org_id == org_id))
    return found


async def app_of_waba(session: AsyncSession, waba: Waba) -> MetaApp:
    found = await session.get(MetaApp, waba.app_pk)
    assert found is not None  # a foreign key with ON DELETE RESTRICT
    return found


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


async def connected_wabas(session: AsyncSession, *, synced_before: datetime) -> list[tuple[int, int]]:
    """(org id, WABA pk) of every WABA with a token, not disconnected, not synced since
    ``synced_before``: the worker's sync list. Cross-tenant by design: the worker syncs every org's
    WABAs, each within its own org."""
    rows = await session.execute(
        select(Waba.org_id, Waba.id)
        .where(
            Waba.access_token.is_not(None),
            Waba.disconnected_at.is_(None),
            or_(Waba.synced_at.is_(None), Waba.synced_at < synced_before),
        )
        .order_by(Waba.synced_at.is_not(None), Waba.synced_at, Waba.id)
    )
    return [(org_id, pk) for org_id, pk in rows.all()]
