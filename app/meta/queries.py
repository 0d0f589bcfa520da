"""Reads of Meta apps. Tenant pages read through ``apps_of_org``/``app_of_org`` (scoped by org id);
``app_by_app_id`` is the lookup by the id in Meta's callback URL (the receiver, the CLI, staff)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.meta.models import MetaApp


async def app_by_app_id(session: AsyncSession, app_id: str) -> MetaApp | None:
    result = await session.scalars(select(MetaApp).where(MetaApp.app_id == app_id))
    return result.first()


async def apps_of_org(session: AsyncSession, *, org_id: int) -> list[MetaApp]:
    result = await session.scalars(
        select(MetaApp).where(MetaApp.org_id == org_id).order_by(MetaApp.name, MetaApp.app_id)
    )
    return list(result)


async def app_of_org(session: AsyncSession, *, org_id: int, app_id: str) -> MetaApp | None:
    result = await session.scalars(select(MetaApp).where(MetaApp.org_id == org_id, MetaApp.app_id == app_id))
    return result.first()


def apps_across_orgs() -> Select[int, str, int | None]:
    """Every app's ``id``, ``app_id`` and ``org_id`` (None for the platform's own app), of every org:
    a building block for cross-org statements over per-app rows (/metrics labels them by app id, the
    retention purge judges them by their org's policy), which join it as a subquery on ``id``. Never
    for showing one org's apps."""
    return select(MetaApp.id, MetaApp.app_id, MetaApp.org_id)
