"""Rules for channels, rules and deliveries. Services flush; the caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import outbox, queries
from app.alerts.models import (
    AlertChannel,
    AlertDelivery,
    AlertRule,
    AlertRuleChannel,
    ChannelKind,
    DeliveryStatus,
)
from app.alerts.url_guard import RefusedTarget, UrlPolicy, check_url
from app.audit import service as audit
from app.events.parsed import Severity
from app.lib.crypto import new_token, token_digest
from app.lib.timeutil import utcnow
from app.tenancy import queries as tenancy_queries
from app.tenancy.context import OrgContext
from app.wabas import queries as wabas_queries

MAX_CHANNELS = 50
MAX_RULES = 100


class AlertsError(ValueError):
    """A rule was broken; the message is meant for the person who asked."""


class NotFound(LookupError):
    """No such object in this org (answered 404)."""


def _require_admin(ctx: OrgContext) -> None:
    if not ctx.can_admin:
        raise AlertsError("Only owners and admins change alerts.")


@dataclass(frozen=True)
class NewEmailChannel:
    channel: AlertChannel
    confirm_token: str | None  # set when the address must be confirmed by a link


async def _audit(session: AsyncSession, ctx: OrgContext, action: str, target: str, **details: object) -> None:
    """Alert channel and rule changes go to the org's audit log. Targets are labels: a Slack
    channel's label masks its URL, so no secret is written."""
    await audit.record(
        session, org_id=ctx.org_id, actor=ctx.user, action=f"alerts.{action}", target=target, details=details
    )


async def _room_for_channel(session: AsyncSession, ctx: OrgContext) -> None:
    if len(await queries.channels(session, org_id=ctx.org_id)) >= MAX_CHANNELS:
        raise AlertsError(f"An organization has at most {MAX_CHANNELS} alert channels.")


async def add_email_channel(session: AsyncSession, ctx: OrgContext, *, address: str) -> NewEmailChannel:
    """A member's verified address is ready at once; any other address waits for its link."""
    _require_admin(ctx)
    try:
        email = validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AlertsError(f"That is not an email address ({exc}).") from exc
    if len(email) > 320:
        raise AlertsError("That address is too long.")
    for existing in await queries.channels(session, org_id=ctx.org_id):
        if existing.kind == ChannelKind.EMAIL and existing.address == email:
            raise AlertsError(f"{email} is already a channel.")
    await _room_for_channel(session, ctx)
    channel = AlertChannel(
        org_id=ctx.org_id, kind=ChannelKind.EMAIL, label=email, address=email, enabled=True
    )
    token = None
    if await tenancy_queries.is_verified_member_email(session, org_id=ctx.org_id, email=email):
        channel.confirmed_at = utcnow()
    else:
        token = new_token()
        channel.confirm_digest = token_digest(token)
    session.add(channel)
    await session.flush()
    await _audit(session, ctx, "channel_added", channel.label, kind="email", confirmed=token is None)
    return NewEmailChannel(channel, token)


def slack_label(url: str, name: str) -> str:
    """What pages show instead of the secret URL: a name, the host and the URL's last 4 characters."""
    host = urlsplit(url).hostname or "?"
    masked = f"Slack · {host} · …{url.rstrip('/')[-4:]}"
    name = " ".join(name.split())[:100]
    return f"{name} ({masked})" if name else masked


async def add_slack_channel(
    session: AsyncSession, ctx: OrgContext, *, url: str, name: str, policy: UrlPolicy
) -> AlertChannel:
    _require_admin(ctx)
    url = url.strip()
    if len(url) > 2000:
        raise AlertsError("That URL is too long.")
    try:
        await check_url(url, policy)
    except RefusedTarget as exc:
        raise AlertsError(str(exc)) from exc
    await _room_for_channel(session, ctx)
    channel = AlertChannel(
        org_id=ctx.org_id,
        kind=ChannelKind.SLACK,
        label=slack_label(url, name),
        webhook_url=url,
        enabled=True,
        confirmed_at=utcnow(),
    )
    session.add(channel)
    await session.flush()
    await _audit(session, ctx, "channel_added", channel.label, kind="slack")
    return channel


async def confirm_email_channel(session: AsyncSession, *, org_id: int, token: str) -> AlertChannel | None:
    """The link in the confirmation mail: the address starts receiving alerts. Single use."""
    channel = await queries.channel_by_confirm_digest(session, org_id=org_id, digest=token_digest(token))
    if channel is None:
        return None
    channel.confirmed_at = utcnow()
    channel.confirm_digest = None
    await session.flush()
    return channel


async def _channel(session: AsyncSession, ctx: OrgContext, channel_id: int) -> AlertChannel:
    channel = await queries.channel(session, org_id=ctx.org_id, channel_id=channel_id)
    if channel is None:
        raise NotFound
    return channel


async def delete_channel(session: AsyncSession, ctx: OrgContext, *, channel_id: int) -> AlertChannel:
    _require_admin(ctx)
    channel = await _channel(session, ctx, channel_id)
    await _audit(session, ctx, "channel_removed", channel.label, kind=channel.kind)
    await session.delete(channel)
    await session.flush()
    return channel


async def set_channel_enabled(
    session: AsyncSession, ctx: OrgContext, *, channel_id: int, enabled: bool
) -> AlertChannel:
    _require_admin(ctx)
    channel = await _channel(session, ctx, channel_id)
    channel.enabled = enabled
    if enabled:
        channel.disabled_reason = None
    await session.flush()
    await _audit(session, ctx, "channel_enabled" if enabled else "channel_disabled", channel.label)
    return channel


async def set_channel_digest(
    session: AsyncSession, ctx: OrgContext, *, channel_id: int, daily: bool
) -> AlertChannel:
    """On: alerts to this channel are held and sent once a day as one digest."""
    _require_admin(ctx)
    channel = await _channel(session, ctx, channel_id)
    if daily and not channel.daily_digest:
        channel.last_digest_at = utcnow()
    channel.daily_digest = daily
    await session.flush()
    await _audit(session, ctx, "channel_digest", channel.label, daily=daily)
    return channel


async def send_test(session: AsyncSession, ctx: OrgContext, *, channel_id: int) -> AlertDelivery:
    """Queues a test message on the same path as real alerts (outbox, worker, transport)."""
    _require_admin(ctx)
    channel = await _channel(session, ctx, channel_id)
    if channel.kind == ChannelKind.EMAIL and channel.confirmed_at is None:
        raise AlertsError(f"{channel.label} is not confirmed yet: open the link sent to it first.")
    return await outbox.enqueue_test(
        session, org_id=ctx.org_id, org_slug=ctx.org.slug, channel=channel, by=ctx.user.email
    )


@dataclass(frozen=True)
class RuleInput:
    name: str
    fields: list[str]
    kinds: list[str]
    min_severity: str  # "" (any), info, warning, critical
    waba_ids: list[str]  # empty: all
    channel_ids: list[int]
    throttle_minutes: int = 10


async def create_rule(session: AsyncSession, ctx: OrgContext, data: RuleInput) -> AlertRule:
    _require_admin(ctx)
    name = " ".join(data.name.split())
    if not name:
        raise AlertsError("Give the rule a name.")
    if len(name) > 200:
        raise AlertsError("That name is too long (200 characters at most).")
    if len(await queries.rules(session, org_id=ctx.org_id)) >= MAX_RULES:
        raise AlertsError(f"An organization has at most {MAX_RULES} rules.")
    severity = None
    if data.min_severity:
        try:
            severity = int(Severity.from_label(data.min_severity))
        except ValueError as exc:
            raise AlertsError(str(exc)) from exc
    if not (0 <= data.throttle_minutes <= 24 * 60):
        raise AlertsError("The grouping window is between 0 and 1440 minutes.")
    known_wabas = set((await wabas_queries.waba_names(session, org_id=ctx.org_id)).keys())
    unknown = [w for w in data.waba_ids if w not in known_wabas]
    if unknown:
        raise AlertsError(f"Not a WABA of this organization: {', '.join(unknown[:5])}.")
    channel_ids = set(data.channel_ids)
    known_channels = {c.id for c in await queries.channels(session, org_id=ctx.org_id)}
    if not channel_ids:
        raise AlertsError("Choose at least one channel.")
    if not channel_ids <= known_channels:
        raise NotFound
    rule = AlertRule(
        org_id=ctx.org_id,
        name=name,
        enabled=True,
        fields=data.fields[:50],
        kinds=data.kinds[:50],
        min_severity=severity,
        waba_ids=sorted(set(data.waba_ids)),
        throttle_minutes=data.throttle_minutes,
    )
    session.add(rule)
    await session.flush()
    session.add_all(AlertRuleChannel(rule_id=rule.id, channel_id=cid) for cid in sorted(channel_ids))
    await session.flush()
    await _audit(
        session,
        ctx,
        "rule_created",
        rule.name,
        fields=rule.fields,
        kinds=rule.kinds,
        min_severity=data.min_severity or "any",
        wabas=rule.waba_ids,
        channels=sorted(channel_ids),
    )
    return rule


async def _rule(session: AsyncSession, ctx: OrgContext, rule_id: int) -> AlertRule:
    rule = await queries.rule(session, org_id=ctx.org_id, rule_id=rule_id)
    if rule is None:
        raise NotFound
    return rule


async def set_rule_enabled(
    session: AsyncSession, ctx: OrgContext, *, rule_id: int, enabled: bool
) -> AlertRule:
    _require_admin(ctx)
    rule = await _rule(session, ctx, rule_id)
    rule.enabled = enabled
    await session.flush()
    await _audit(session, ctx, "rule_enabled" if enabled else "rule_disabled", rule.name)
    return rule


async def delete_rule(session: AsyncSession, ctx: OrgContext, *, rule_id: int) -> AlertRule:
    _require_admin(ctx)
    rule = await _rule(session, ctx, rule_id)
    await _audit(session, ctx, "rule_deleted", rule.name)
    await session.execute(delete(AlertRuleChannel).where(AlertRuleChannel.rule_id == rule.id))
    await session.delete(rule)
    await session.flush()
    return rule


async def retry_delivery(session: AsyncSession, ctx: OrgContext, *, delivery_id: int) -> AlertDelivery:
    """A failed delivery goes back to the queue with a fresh set of attempts."""
    _require_admin(ctx)
    return await requeue_failed(session, org_id=ctx.org_id, delivery_id=delivery_id)


async def requeue_failed(session: AsyncSession, *, org_id: int, delivery_id: int) -> AlertDelivery:
    """The rule behind every retry by hand (an admin's, or staff's for a stated reason): only a
    failed delivery of this org goes back to the queue."""
    row = await queries.delivery(session, org_id=org_id, delivery_id=delivery_id)
    if row is None:
        raise NotFound
    if row.status != DeliveryStatus.FAILED:
        raise AlertsError("Only failed deliveries are retried by hand.")
    row.status = DeliveryStatus.QUEUED
    row.attempts = 0
    row.run_at = utcnow()
    row.locked_until = None
    await session.flush()
    return row


async def create_default_rule(session: AsyncSession, *, org_id: int) -> AlertRule:
    """A new org's starting point: critical events go to its owners by email."""
    channel = AlertChannel(
        org_id=org_id,
        kind=ChannelKind.OWNERS,
        label="Owners (by email)",
        enabled=True,
        confirmed_at=utcnow(),
    )
    session.add(channel)
    await session.flush()
    rule = AlertRule(
        org_id=org_id,
        name="Critical events",
        enabled=True,
        fields=[],
        kinds=[],
        min_severity=int(Severity.CRITICAL),
        waba_ids=[],
        throttle_minutes=10,
    )
    session.add(rule)
    await session.flush()
    session.add(AlertRuleChannel(rule_id=rule.id, channel_id=channel.id))
    await session.flush()
    return rule
