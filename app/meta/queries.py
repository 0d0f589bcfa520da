"""Reads of Meta apps. Tenant pages read through ``apps_of_org``/``app_of_org`` (the org's own apps)
and ``usable_apps``/``usable_app`` (those and the platform's), all scoped by org id;
``app_by_app_id`` is the lookup by the id in Meta's callback URL (the receiver, the CLI, staff) and
``app_by_pk`` follows a foreign key from a row already read within its org."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, or_, select
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


async def usable_apps(session: AsyncSession, *, org_id: int) -> list[MetaApp]:
    """The apps the org may connect WABAs through: its own and the platform's (org_id NULL), the
    platform's first."""
    rows = await session.scalars(
        select(MetaApp)
        .where(or_(MetaApp.org_id == org_id, MetaApp.org_id.is_(None)))
        .order_by(MetaApp.org_id.is_not(None), MetaApp.name, MetaApp.app_id)
    )
    return list(rows)


async def usable_app(session: AsyncSession, *, org_id: int, app_id: str) -> MetaApp | None:
    """One of ``usable_apps`` by its Meta app id; None for another org's app or an unknown id."""
    found: MetaApp | None = await session.scalar(
        select(MetaApp).where(
            MetaApp.app_id == app_id, or_(MetaApp.org_id == org_id, MetaApp.org_id.is_(None))
        )
    )
    return found


async def apps_reaching_org(
    session: AsyncSession, *, org_id: int, routed_app_pks: Iterable[int]
) -> list[MetaApp]:
    """The org's own apps and the apps (the platform's, or another org's) through which its WABAs
    are connected: ``routed_app_pks`` are read from those WABAs by the caller. Own apps first."""
    pks = sorted(set(routed_app_pks))
    rows = await session.scalars(
        select(MetaApp)
        .where(or_(MetaApp.org_id == org_id, MetaApp.id.in_(pks)))
        .order_by(MetaApp.org_id.is_distinct_from(org_id), MetaApp.name, MetaApp.app_id)
    )
    return list(rows)


async def app_by_pk(session: AsyncSession, app_pk: int) -> MetaApp:
    """The app a WABA's ``app_pk`` names. Not scoped by org: the key comes from a row read within
    its org, and it may name the platform's app. Always there: the foreign key restricts deletes."""
    found = await session.get(MetaApp, app_pk)
    assert found is not None  # a foreign key with ON DELETE RESTRICT
    return found
