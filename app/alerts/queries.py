"""Reads of the alerts domain; every tenant query is filtered by org id here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import (
    AlertChannel,
    AlertDelivery,
    AlertRule,
    AlertRuleChannel,
    DeliveryKind,
    DeliveryStatus,
)
from app.tenancy.models import Organization


async def channels(session: AsyncSession, *, org_id: int) -> list[AlertChannel]:
    stmt = select(AlertChannel).where(AlertChannel.org_id == org_id).order_by(AlertChannel.id)
    return list(await session.scalars(stmt))


async def channel(session: AsyncSession, *, org_id: int, channel_id: int) -> AlertChannel | None:
    stmt = select(AlertChannel).where(AlertChannel.org_id == org_id, AlertChannel.id == channel_id)
    return (await session.scalars(stmt)).first()


async def channel_by_confirm_digest(
    session: AsyncSession, *, org_id: int, digest: str
) -> AlertChannel | None:
    stmt = select(AlertChannel).where(AlertChannel.org_id == org_id, AlertChannel.confirm_digest == digest)
    return (await session.scalars(stmt)).first()


async def rules(session: AsyncSession, *, org_id: int) -> list[AlertRule]:
    stmt = select(AlertRule).where(AlertRule.org_id == org_id).order_by(AlertRule.id)
    return list(await session.scalars(stmt))


async def rule(session: AsyncSession, *, org_id: int, rule_id: int) -> AlertRule | None:
    stmt = select(AlertRule).where(AlertRule.org_id == org_id, AlertRule.id == rule_id)
    return (await session.scalars(stmt)).first()


async def rule_channel_ids(session: AsyncSession, *, org_id: int) -> dict[int, list[int]]:
    """Channel ids of each rule of the org."""
    stmt = (
        select(AlertRuleChannel.rule_id, AlertRuleChannel.channel_id)
        .join(AlertRule, AlertRule.id == AlertRuleChannel.rule_id)
        .where(AlertRule.org_id == org_id)
        .order_by(AlertRuleChannel.channel_id)
    )
    found: dict[int, list[int]] = {}
    for rule_id, channel_id in (await session.execute(stmt)).all():
        found.setdefault(int(rule_id), []).append(int(channel_id))
    return found


async def org(session: AsyncSession, org_id: int) -> Organization | None:
    return await session.get(Organization, org_id)


async def last_alerts_in_windows(
    session: AsyncSession, groups: Sequence[tuple[int, int, str]], *, since: datetime
) -> dict[tuple[int, int, str], datetime]:
    """(rule id, channel id, group key) -> when its last alert since ``since`` was made, for the
    groups that have one (one query for all of them)."""
    if not groups:
        return {}
    stmt = (
        select(
            AlertDelivery.rule_id,
            AlertDelivery.channel_id,
            AlertDelivery.group_key,
            func.max(AlertDelivery.created_at),
        )
        .where(
            tuple_(AlertDelivery.rule_id, AlertDelivery.channel_id, AlertDelivery.group_key).in_(groups),
            AlertDelivery.kind == DeliveryKind.ALERT,
            AlertDelivery.created_at >= since,
        )
        .group_by(AlertDelivery.rule_id, AlertDelivery.channel_id, AlertDelivery.group_key)
    )
    rows = (await session.execute(stmt)).all()
    return {(rule_id or 0, channel_id or 0, key or ""): at for rule_id, channel_id, key, at in rows}


async def pending_followups(
    session: AsyncSession, groups: Sequence[tuple[int, int, str]]
) -> dict[tuple[int, int, str], AlertDelivery]:
    """The follow-up still waiting to go out, of each of these groups that has one (one query)."""
    if not groups:
        return {}
    stmt = (
        select(AlertDelivery)
        .where(
            tuple_(AlertDelivery.rule_id, AlertDelivery.channel_id, AlertDelivery.group_key).in_(groups),
            AlertDelivery.kind == DeliveryKind.FOLLOWUP,
            AlertDelivery.status == "queued",
        )
        .order_by(AlertDelivery.id)
    )
    found: dict[tuple[int, int, str], AlertDelivery] = {}
    for row in await session.scalars(stmt):  # the filter leaves no part of the key empty
        found.setdefault((row.rule_id or 0, row.channel_id or 0, row.group_key or ""), row)
    return found


def deliveries_stmt(*, org_id: int, status: str | None = None, limit: int = 200) -> Select[AlertDelivery]:
    stmt = select(AlertDelivery).where(AlertDelivery.org_id == org_id)
    if status:
        stmt = stmt.where(AlertDelivery.status == status)
    return stmt.order_by(AlertDelivery.id.desc()).limit(limit)


async def deliveries(
    session: AsyncSession, *, org_id: int, status: str | None = None, limit: int = 200
) -> list[AlertDelivery]:
    return list(await session.scalars(deliveries_stmt(org_id=org_id, status=status, limit=limit)))


async def delivery(session: AsyncSession, *, org_id: int, delivery_id: int) -> AlertDelivery | None:
    stmt = select(AlertDelivery).where(AlertDelivery.org_id == org_id, AlertDelivery.id == delivery_id)
    return (await session.scalars(stmt)).first()


async def deliveries_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[AlertDelivery]:
    """Outbox rows a sender pass has claimed, of any org (their ids come from its claim)."""
    return list(await session.scalars(select(AlertDelivery).where(AlertDelivery.id.in_(list(ids)))))


async def channels_by_ids(session: AsyncSession, ids: Iterable[int]) -> list[AlertChannel]:
    """The channels of claimed outbox rows, of any org (removed ones are missing)."""
    return list(await session.scalars(select(AlertChannel).where(AlertChannel.id.in_(set(ids)))))


async def channels_due_for_digest(session: AsyncSession, *, last_digest_by: datetime) -> list[AlertChannel]:
    """Enabled daily-digest channels of every org whose last digest was made at or before
    ``last_digest_by``, or never."""
    stmt = select(AlertChannel).where(
        AlertChannel.daily_digest.is_(True),
        AlertChannel.enabled.is_(True),
        or_(AlertChannel.last_digest_at.is_(None), AlertChannel.last_digest_at <= last_digest_by),
    )
    return list(await session.scalars(stmt))


async def held_deliveries(session: AsyncSession, *, channel_id: int) -> list[AlertDelivery]:
    """The channel's alerts held for its next digest, oldest first."""
    stmt = (
        select(AlertDelivery)
        .where(AlertDelivery.channel_id == channel_id, AlertDelivery.status == DeliveryStatus.HELD)
        .order_by(AlertDelivery.id)
    )
    return list(await session.scalars(stmt))


async def delivery_status_counts(session: AsyncSession) -> list[tuple[str, int]]:
    """How many outbox rows there are, by status, over every org (a count only: for /metrics)."""
    rows = await session.execute(
        select(AlertDelivery.status, func.count())
        .group_by(AlertDelivery.status)
        .order_by(AlertDelivery.status)
    )
    return [(status, int(n)) for status, n in rows]
