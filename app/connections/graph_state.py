"""What the Graph API last said that the pages show without asking it again, kept as the WABA's
state entries: the apps subscribed to its webhooks (``subscription``) and whether its business owns
our app (``app_owner``, app.connections.ownership). Flushes, never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.ownership import STATE_KEY as OWNERSHIP_KEY
from app.connections.ownership import Ownership
from app.graph.nodes import SubscribedApp
from app.lib.timeutil import utcnow
from app.wabas import queries as wabas_queries
from app.wabas.models import StateEntry, Waba


async def remember_subscription(
    session: AsyncSession,
    waba: Waba,
    *,
    subscribed: bool | None = None,
    apps: list[SubscribedApp] | None = None,
    our_app_id: str = "",
) -> None:
    """Our subscription as Meta last told it, on the WABA (``subscribed``, which the cards and the
    app checklist read) and as its ``subscription`` state entry, with every subscribed app when
    they were listed (the connection page shows them without asking Graph). Without ``apps``, the
    list is unknown until the next read."""
    if apps is not None:
        subscribed = any(a.app_id == our_app_id for a in apps)
    assert subscribed is not None
    now = utcnow()
    waba.subscribed = subscribed
    waba.subscription_checked_at = now
    value: dict[str, Any] = {"subscribed": subscribed}
    if apps is not None:
        value["apps"] = [
            {"app_id": a.app_id, "name": a.name, "override_callback_uri": a.override_callback_uri}
            for a in apps
        ]
    entry = await wabas_queries.state_entry(session, waba_pk=waba.id, subject="waba", key="subscription")
    if entry is None:
        entry = StateEntry(
            org_id=waba.org_id, waba_pk=waba.id, subject="waba", key="subscription", event_id=None
        )
        session.add(entry)
    entry.value = value
    entry.occurred_at = now
    await session.flush()


async def known_subscribed_apps(session: AsyncSession, waba: Waba) -> list[SubscribedApp] | None:
    """The apps Meta listed at the last read, or None when no list is kept."""
    entry = await wabas_queries.state_entry(session, waba_pk=waba.id, subject="waba", key="subscription")
    found = dict(entry.value).get("apps") if entry is not None else None
    if not isinstance(found, list):
        return None
    return [
        SubscribedApp(
            app_id=str(a.get("app_id") or ""),
            name=str(a.get("name") or ""),
            link="",
            override_callback_uri=a.get("override_callback_uri") or None,
        )
        for a in found
        if isinstance(a, dict)
    ]


async def record_ownership(session: AsyncSession, waba: Waba, ownership: Ownership, *, now: datetime) -> None:
    """Keeps the ownership check (and its warning, if any) as the WABA's ``app_owner`` state entry,
    which the WABA's card and connection page show."""
    entry = await wabas_queries.state_entry(session, waba_pk=waba.id, subject="waba", key=OWNERSHIP_KEY)
    if entry is None:
        entry = StateEntry(
            org_id=waba.org_id, waba_pk=waba.id, subject="waba", key=OWNERSHIP_KEY, event_id=None
        )
        session.add(entry)
    entry.value = ownership.as_state()
    entry.occurred_at = now
    await session.flush()


async def recheck_ownership(session: AsyncSession, waba: Waba, now: datetime) -> None:
    """A sync may find the WABA under another business: the app's side, as checked at connect,
    is compared again with the owner just read (no extra Graph call)."""
    entry = await wabas_queries.state_entry(session, waba_pk=waba.id, subject="waba", key=OWNERSHIP_KEY)
    if entry is None or not waba.owner_business_id:
        return
    ownership = Ownership.from_state(
        dict(entry.value),
        waba_id=waba.waba_id,
        waba_business_id=waba.owner_business_id,
        waba_business_name=waba.owner_business_name or "",
    )
    if ownership.as_state() != dict(entry.value):
        entry.value = ownership.as_state()
        entry.occurred_at = now


async def ownership_warning(session: AsyncSession, waba: Waba) -> str | None:
    entry = await wabas_queries.state_entry(session, waba_pk=waba.id, subject="waba", key=OWNERSHIP_KEY)
    warning = dict(entry.value).get("warning") if entry is not None else None
    return str(warning) if warning else None
