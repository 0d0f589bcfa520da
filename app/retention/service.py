"""Retention: per-org periods and the purge itself. Services flush; callers (the worker pass, the
settings page) own the transactions.

What goes, and why this way:
- a raw delivery's **body** is set to NULL once it is past the period (default 30 days) and nothing
  of it waits for the worker. The row stays: its size, hash (so a late retry of the same body is
  still recognised as a duplicate), status and counts keep the inspector and /metrics truthful, and
  its changes and the account events made from them hang off it (deleting it would cascade to them);
- ``messages`` events and ``messages`` changes (both carry personal data: message text, customer
  numbers) are **deleted** once past their period (default 7 days);
- every other event is kept.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import LoginAttempt
from app.events import queries as events_queries
from app.events.models import Event
from app.retention import queries
from app.retention.models import RetentionPolicy
from app.settings import Settings
from app.tenancy.context import OrgContext
from app.tenancy.models import UserSession
from app.webhooks import queries as webhooks_queries
from app.webhooks.models import WebhookChange, WebhookDelivery

MIN_DAYS, MAX_DAYS = 1, 3650
MESSAGES = "messages"  # the field whose events and changes carry message text


class RetentionError(ValueError):
    """The message is meant for the person who asked."""


@dataclass(frozen=True)
class Periods:
    deliveries_days: int
    messages_days: int
    custom: bool


async def periods_of(session: AsyncSession, settings: Settings, *, org_id: int) -> Periods:
    found = await queries.policy_of(session, org_id=org_id)
    if found is None:
        return Periods(settings.retention_deliveries_days, settings.retention_messages_days, custom=False)
    return Periods(found.deliveries_days, found.messages_days, custom=True)


def _days(text: str, label: str) -> int:
    if not text.strip().isdigit() or not MIN_DAYS <= int(text) <= MAX_DAYS:
        raise RetentionError(f"{label} must be a whole number of days from {MIN_DAYS} to {MAX_DAYS}.")
    return int(text)


async def set_periods(
    session: AsyncSession, settings: Settings, ctx: OrgContext, *, deliveries_days: str, messages_days: str
) -> Periods:
    if not ctx.can_admin:
        raise RetentionError("Only owners and admins change retention.")
    deliveries = _days(deliveries_days, "Raw deliveries")
    messages = _days(messages_days, "Messages events")
    before = await periods_of(session, settings, org_id=ctx.org_id)
    found = await queries.policy_of(session, org_id=ctx.org_id)
    if found is None:
        session.add(RetentionPolicy(org_id=ctx.org_id, deliveries_days=deliveries, messages_days=messages))
    else:
        found.deliveries_days, found.messages_days = deliveries, messages
    await session.flush()
    await audit.record(
        session,
        org_id=ctx.org_id,
        actor=ctx.user,
        action=audit.RETENTION_CHANGED,
        details={
            "deliveries_days": f"{before.deliveries_days} -> {deliveries}",
            "messages_days": f"{before.messages_days} -> {messages}",
        },
    )
    return Periods(deliveries, messages, custom=True)


@dataclass
class Purged:
    """Rows purged, per kind (every field is a count)."""

    bodies: int = 0
    events: int = 0
    changes: int = 0
    logins: int = 0
    sessions: int = 0

    def counts(self) -> tuple[int, ...]:
        return astuple(self)

    @property
    def total(self) -> int:
        return sum(self.counts())

    def add(self, other: Purged) -> None:
        for kind in fields(self):
            setattr(self, kind.name, getattr(self, kind.name) + getattr(other, kind.name))


# Sign-in attempts only throttle (the audit log keeps who signed in): kept this long, and never
# less than the throttle's window.
LOGIN_ATTEMPTS_KEPT = timedelta(days=30)


def login_attempts_kept(settings: Settings) -> timedelta:
    return max(LOGIN_ATTEMPTS_KEPT, timedelta(seconds=settings.login_failure_window_seconds))


# A session record that ended (revoked, or unused for the session lifetime) stays listed nowhere;
# it is kept this long after it ended, then deleted.
ENDED_SESSIONS_KEPT = timedelta(days=30)


async def purge_batch(session: AsyncSession, settings: Settings, *, now: datetime, batch: int) -> Purged:
    """At most ``batch`` rows of each kind, chosen by id and changed by id: short statements that
    lock only the rows they touch. Call again (a new transaction each time) until it purges nothing."""
    policies = await queries.policies(session)
    days = timedelta(days=1)
    deliveries_cut = {p.org_id: now - p.deliveries_days * days for p in policies}
    messages_cut = {p.org_id: now - p.messages_days * days for p in policies}
    deliveries_default = now - settings.retention_deliveries_days * days
    messages_default = now - settings.retention_messages_days * days
    done = Purged()
    ids = await queries.delivery_bodies_due(
        session, custom=deliveries_cut, default=deliveries_default, limit=batch
    )
    if ids:
        await session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).values(body=None))
        done.bodies = len(ids)
    ids = await events_queries.event_ids_past_cutoff(
        session, field=MESSAGES, custom=messages_cut, default=messages_default, limit=batch
    )
    if ids:
        await session.execute(delete(Event).where(Event.id.in_(ids)))
        done.events = len(ids)
    ids = await webhooks_queries.handled_change_ids_past_cutoff(
        session, field=MESSAGES, custom=messages_cut, default=messages_default, limit=batch
    )
    if ids:
        # Their events went above or go with them (events.change_id cascades).
        await session.execute(delete(Event).where(Event.change_id.in_(ids)))
        await session.execute(delete(WebhookChange).where(WebhookChange.id.in_(ids)))
        done.changes = len(ids)
    ids = await queries.login_attempts_due(session, before=now - login_attempts_kept(settings), limit=batch)
    if ids:
        await session.execute(delete(LoginAttempt).where(LoginAttempt.id.in_(ids)))
        done.logins = len(ids)
    ended = now - ENDED_SESSIONS_KEPT
    ids = await queries.ended_sessions_due(
        session,
        revoked_before=ended,
        seen_before=ended - timedelta(seconds=settings.session_max_age_seconds),
        limit=batch,
    )
    if ids:
        await session.execute(delete(UserSession).where(UserSession.id.in_(ids)))
        done.sessions = len(ids)
    await session.flush()
    return done
