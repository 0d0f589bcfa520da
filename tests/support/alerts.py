"""Helpers for alert tests: contexts for the personas, channels and rules, webhooks made into events."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from app.alerts import service
from app.alerts.models import AlertChannel, AlertDelivery, AlertRule
from app.alerts.sender import AlertSender
from app.alerts.tasks import build_sender, url_policy
from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.settings import Settings
from app.tenancy.context import OrgContext
from app.tenancy.models import Organization, Role, User
from tests.support.payloads import WABA_ID, body, entry
from tests.support.rows import store_delivery

_times = itertools.count(1_760_000_000)


@dataclass
class Clock:
    """Now, plus however far the test has moved it."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


def ctx_of(org: Organization, user: User, role: Role = Role.ADMIN) -> OrgContext:
    return OrgContext(org=org, user=user, role=role)


async def slack_channel(
    db: Database, settings: Settings, ctx: OrgContext, url: str, name: str = ""
) -> AlertChannel:
    async with db.transaction() as session:
        return await service.add_slack_channel(session, ctx, url=url, name=name, policy=url_policy(settings))


async def email_channel(db: Database, ctx: OrgContext, address: str) -> service.NewEmailChannel:
    async with db.transaction() as session:
        return await service.add_email_channel(session, ctx, address=address)


async def rule(
    db: Database,
    ctx: OrgContext,
    channels: list[AlertChannel],
    *,
    name: str = "Rule",
    min_severity: str = "",
    fields: list[str] | None = None,
    kinds: list[str] | None = None,
    waba_ids: list[str] | None = None,
    throttle_minutes: int = 10,
) -> AlertRule:
    async with db.transaction() as session:
        return await service.create_rule(
            session,
            ctx,
            service.RuleInput(
                name=name,
                fields=fields or [],
                kinds=kinds or [],
                min_severity=min_severity,
                waba_ids=waba_ids or [],
                channel_ids=[c.id for c in channels],
                throttle_minutes=throttle_minutes,
            ),
        )


def quality(event: str = "DOWNGRADE", limit: str = "TIER_1K", display: str = "15550783881") -> dict[str, Any]:
    return {
        "field": "phone_number_quality_update",
        "value": {"display_phone_number": display, "event": event, "current_limit": limit},
    }


def name_rejected(name: str, reason: str) -> dict[str, Any]:
    return {
        "field": "phone_number_name_update",
        "value": {
            "display_phone_number": "15550783881",
            "decision": "REJECTED",
            "requested_verified_name": name,
            "rejection_reason": reason,
        },
    }


async def webhook(db: Database, app: MetaApp, *changes: dict[str, Any], waba_id: str = WABA_ID) -> None:
    """Stores one delivery (a distinct entry time, so it is never a duplicate) and processes it."""
    await store_delivery(db, app, body(entry(waba_id, list(changes), time=next(_times))))
    await Processor(db).run_until_idle()


def sender(db: Database, settings: Settings, clock: Clock) -> AlertSender:
    return build_sender(db, settings, clock=clock)


async def deliveries(db: Database) -> list[AlertDelivery]:
    async with db.read() as session:
        return list(await session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))


async def channel_row(db: Database, channel_id: int) -> AlertChannel:
    async with db.read() as session:
        found = await session.get(AlertChannel, channel_id)
        assert found is not None
        return found


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies of a received mail."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())
