"""Which rows retention may purge now. Cross-org by nature (the worker serves every org), each row
judged by its own org's policy; every statement is bounded by ``limit``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.auth.models import LoginAttempt
from app.events.models import Event
from app.meta.models import MetaApp
from app.retention.models import RetentionPolicy
from app.tenancy.models import UserSession
from app.webhooks.models import ChangeStatus, DeliveryStatus, WebhookChange, WebhookDelivery

MESSAGES = "messages"


async def policies(session: AsyncSession) -> list[RetentionPolicy]:
    return list(await session.scalars(select(RetentionPolicy).order_by(RetentionPolicy.org_id)))


async def policy_of(session: AsyncSession, *, org_id: int) -> RetentionPolicy | None:
    found: RetentionPolicy | None = await session.scalar(
        select(RetentionPolicy).where(RetentionPolicy.org_id == org_id)
    )
    return found


def _by_org(
    org_column: InstrumentedAttribute[Any],
    time_column: InstrumentedAttribute[datetime],
    custom: dict[int, datetime],
    default: datetime,
) -> ColumnElement[bool]:
    """Rows older than their org's cutoff: ``custom`` per org id, ``default`` for the others."""
    parts = [and_(org_column == org_id, time_column < cutoff) for org_id, cutoff in custom.items()]
    others = or_(org_column.is_(None), org_column.not_in(list(custom))) if custom else true_()
    parts.append(and_(others, time_column < default))
    return or_(*parts)


def true_() -> ColumnElement[bool]:
    return ~false()


async def delivery_bodies_due(
    session: AsyncSession, *, custom: dict[int, datetime], default: datetime, limit: int
) -> list[int]:
    """Deliveries whose body may go: past their app's org's cutoff (the platform's own app uses the
    default), no longer waiting for the worker, and with no change still waiting either."""
    waiting_change = exists().where(
        WebhookChange.delivery_id == WebhookDelivery.id, WebhookChange.status == ChangeStatus.PENDING
    )
    stmt = (
        select(WebhookDelivery.id)
        .join(MetaApp, MetaApp.id == WebhookDelivery.app_pk)
        .where(
            WebhookDelivery.body.is_not(None),
            WebhookDelivery.status != DeliveryStatus.PENDING,
            ~waiting_change,
            _by_org(MetaApp.org_id, WebhookDelivery.received_at, custom, default),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def messages_events_due(
    session: AsyncSession, *, custom: dict[int, datetime], default: datetime, limit: int
) -> list[int]:
    stmt = (
        select(Event.id)
        .where(Event.field == MESSAGES, _by_org(Event.org_id, Event.occurred_at, custom, default))
        .order_by(Event.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def messages_changes_due(
    session: AsyncSession, *, custom: dict[int, datetime], default: datetime, limit: int
) -> list[int]:
    """``messages`` changes (they hold the message text too) that were handled and are past the
    cutoff; unrouted ones are judged by the default."""
    stmt = (
        select(WebhookChange.id)
        .where(
            WebhookChange.field == MESSAGES,
            WebhookChange.status != ChangeStatus.PENDING,
            _by_org(WebhookChange.org_id, WebhookChange.received_at, custom, default),
        )
        .order_by(WebhookChange.id)
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
