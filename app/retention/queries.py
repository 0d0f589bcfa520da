"""Which rows retention may purge now. Cross-org by nature (the worker serves every org), each row
judged by its own org's policy; every statement is bounded by ``limit``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import LoginAttempt
from app.db.cutoffs import older_than_cutoff
from app.meta import queries as meta_queries
from app.retention.models import RetentionPolicy
from app.tenancy.models import UserSession
from app.webhooks import queries as webhooks_queries
from app.webhooks.models import DeliveryStatus, WebhookDelivery


async def policies(session: AsyncSession) -> list[RetentionPolicy]:
    return list(await session.scalars(select(RetentionPolicy).order_by(RetentionPolicy.org_id)))


async def policy_of(session: AsyncSession, *, org_id: int) -> RetentionPolicy | None:
    found: RetentionPolicy | None = await session.scalar(
        select(RetentionPolicy).where(RetentionPolicy.org_id == org_id)
    )
    return found


async def delivery_bodies_due(
    session: AsyncSession, *, custom: dict[int, datetime], default: datetime, limit: int
) -> list[int]:
    """Deliveries whose body may go: past their app's org's cutoff (the platform's own app uses the
    default), no longer waiting for the worker, and with no change still waiting either."""
    apps = meta_queries.apps_across_orgs().subquery("apps")
    stmt = (
        select(WebhookDelivery.id)
        .join(apps, apps.c.id == WebhookDelivery.app_pk)
        .where(
            WebhookDelivery.body.is_not(None),
            WebhookDelivery.status != DeliveryStatus.PENDING,
            ~webhooks_queries.delivery_has_pending_change(),
            older_than_cutoff(apps.c.org_id, WebhookDelivery.received_at, custom=custom, default=default),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def login_attempts_due(session: AsyncSession, *, before: datetime, limit: int) -> list[int]:
    """Sign-in attempts older than ``before`` (ids grow with time, so the oldest come first)."""
    stmt = (
        select(LoginAttempt.id).where(LoginAttempt.created_at < before).order_by(LoginAttempt.id).limit(limit)
    )
    return list(await session.scalars(stmt))


async def ended_sessions_due(
    session: AsyncSession, *, revoked_before: datetime, seen_before: datetime, limit: int
) -> list[int]:
    """Session records revoked before ``revoked_before`` or last seen before ``seen_before``."""
    stmt = (
        select(UserSession.id)
        .where(or_(UserSession.revoked_at < revoked_before, UserSession.last_seen_at < seen_before))
        .order_by(UserSession.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))
