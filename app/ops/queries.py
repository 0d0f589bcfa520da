"""Cross-org figures for /readyz and /metrics: counts and ages only, never tenant content."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.meta import queries as meta_queries
from app.webhooks import queries as webhooks_queries
from app.webhooks.models import DELIVERY_PENDING, WebhookDelivery, WebhookRejection


async def oldest_unprocessed(session: AsyncSession) -> datetime | None:
    """When the oldest delivery or change still waiting for the worker arrived (None: none waits)."""
    delivery = await session.scalar(
        select(func.min(WebhookDelivery.received_at)).where(text(DELIVERY_PENDING))
    )
    change = await webhooks_queries.oldest_pending_change_at(session)
    found = [t for t in (delivery, change) if t is not None]
    return min(found) if found else None


async def pending_counts(session: AsyncSession) -> tuple[int, int]:
    deliveries = await session.scalar(
        select(func.count()).select_from(WebhookDelivery).where(text(DELIVERY_PENDING))
    )
    changes = await webhooks_queries.pending_change_count(session)
    return int(deliveries or 0), changes


async def deliveries_accepted(session: AsyncSession) -> list[tuple[str, str, int]]:
    """(app id, status, deliveries answered 200 or 400: stored ones plus their duplicates).

    Retention only empties bodies, so the rows and these totals never go down."""
    apps = meta_queries.apps_across_orgs().subquery("apps")
    rows = await session.execute(
        select(
            apps.c.app_id,
            WebhookDelivery.status,
            func.count() + func.coalesce(func.sum(WebhookDelivery.duplicate_count), 0),
        )
        .join(apps, apps.c.id == WebhookDelivery.app_pk)
        .group_by(apps.c.app_id, WebhookDelivery.status)
        .order_by(apps.c.app_id, WebhookDelivery.status)
    )
    return [(app_id, status, int(n)) for app_id, status, n in rows]


async def deliveries_rejected(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(WebhookRejection.reason, func.sum(WebhookRejection.count))
        .group_by(WebhookRejection.reason)
        .order_by(WebhookRejection.reason)
    )
    return [(reason, int(n or 0)) for reason, n in rows]
