"""Events stored straight as rows, each on its own delivery and change (the foreign keys are real),
without going through processing: for pages and commands that only read events."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.db.engine import Database
from app.events.models import Event
from app.events.parsed import Severity
from app.lib.timeutil import utcnow
from app.tenancy.models import Organization
from app.webhooks.models import WebhookChange, WebhookDelivery
from tests.factories import create_meta_app

_seq = itertools.count(1)


T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class E:
    """An event to store: only what a test cares about."""

    summary: str
    occurred_at: datetime = T0
    org: Organization | None = None
    waba_id: str = "102290129340398"
    field: str = "security"
    kind: str = "pin_changed"
    severity: Severity = Severity.INFO
    phone: str | None = "15550783881"


async def store_events(db: Database, default_org: Organization, events: Sequence[E]) -> list[Event]:
    """Events as processing leaves them, each on its own delivery and change (the FKs are real)."""
    app = await create_meta_app(db)
    stored: list[Event] = []
    now = utcnow()
    async with db.transaction() as session:
        for item in events:
            n = next(_seq)
            org = item.org or default_org
            delivery = WebhookDelivery(
                app_pk=app.id,
                body_sha256=f"{n:064x}",
                body=b"{}",
                size=2,
                received_at=now,
                status="processed",
            )
            session.add(delivery)
            await session.flush()
            change = WebhookChange(
                delivery_id=delivery.id,
                app_pk=app.id,
                entry_index=0,
                change_index=0,
                field=item.field,
                entry_id=item.waba_id,
                waba_id=item.waba_id,
                org_id=org.id,
                dedup_key=f"{n:064x}",
                value={},
                received_at=now,
                status="processed",
            )
            session.add(change)
            await session.flush()
            event = Event(
                change_id=change.id,
                seq=0,
                app_pk=app.id,
                org_id=org.id,
                waba_id=item.waba_id,
                phone=item.phone,
                field=item.field,
                kind=item.kind,
                severity=int(item.severity),
                occurred_at=item.occurred_at,
                received_at=now,
                summary=item.summary,
                details={},
            )
            session.add(event)
            await session.flush()
            stored.append(event)
    return stored
