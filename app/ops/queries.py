"""Cross-org figures for /readyz and /metrics: counts and ages only, never tenant content."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import AlertDelivery
from app.events.models import Event
from app.meta.models import MetaApp
from app.webhooks.models import (
    ChangeStatus,
    DeliveryStatus,
    WebhookChange,
    WebhookDelivery,
    WebhookRejection,
)


async def oldest_unprocessed(session: AsyncSession) -> datetime | None:
    """When the oldest delivery or change still waiting for the worker arrived (None: none waits)."""
    delivery = await session.scalar(
        select(func.min(WebhookDelivery.received_at)).where(WebhookDelivery.status == DeliveryStatus.PENDING)
    )
    change = await session.scalar(
        select(func.min(WebhookChange.received_at)).where(WebhookChange.status == ChangeStatus.PENDING)
    )
    found = [t for t in (delivery, change) if t is not None]
    return min(found) if found else None


async def pending_counts(session: AsyncSession) -> tuple[int, int]:
    deliveries = await session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING)
    )
    changes = await session.scalar(
        select(func.count()).select_from(WebhookChange).where(WebhookChange.status == ChangeStatus.PENDING)
    )
    return int(deliveries or 0), int(changes or 0)


async def deliveries_accepted(session: AsyncSession) -> list[tuple[str, str, int]]:
    """(app id, status, deliveries answered 200 or 400: stored ones plus their duplicates).

    Retention only empties bodies, so the rows and these totals never go down."""
    rows = await session.execute(
        select(
            MetaApp.app_id,
            WebhookDelivery.status,
            func.count() + func.coalesce(func.sum(WebhookDelivery.duplicate_count), 0),
        )
        .join(MetaApp, MetaApp.id == WebhookDelivery.app_pk)
        .group_by(MetaApp.app_id, WebhookDelivery.status)
        .order_by(MetaApp.app_id, WebhookDelivery.status)
    )
    return [(app_id, status, int(n)) for app_id, status, n in rows]


async def deliveries_rejected(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(WebhookRejection.reason, func.sum(WebhookRejection.count))
        .group_by(WebhookRejection.reason)
        .order_by(WebhookRejection.reason)
    )
    return [(reason, int(n or 0)) for reason, n in rows]


async def events_by_field(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(Event.field, func.count()).group_by(Event.field).order_by(Event.field)
    )
    return [(field, int(n)) for field, n in rows]


async def alert_deliveries_by_status(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(AlertDelivery.status, func.count())
        .group_by(AlertDelivery.status)
        .order_by(AlertDelivery.status)
    )
    return [(status, int(n)) for status, n in rows]
