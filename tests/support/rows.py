"""Rows as the app writes them and reads them back: deliveries stored as the receiver stores them,
WABAs registered to an org, and whole tables in id order."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from app.db.engine import Database
from app.events.models import Event
from app.meta.models import MetaApp
from app.tenancy.models import Organization
from app.wabas import service as wabas_service
from app.wabas.models import StateEntry, Waba
from app.webhooks.models import DeliveryStatus, WebhookChange, WebhookDelivery
from tests.support.payloads import WABA_ID


async def store_delivery(
    db: Database, app: MetaApp, payload: dict[str, Any] | bytes, *, received_at: datetime | None = None
) -> int:
    """A delivery row exactly as the receiver commits it: raw bytes, pending, due at once."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    when = received_at or datetime.now(UTC)
    async with db.transaction() as session:
        delivery = WebhookDelivery(
            app_pk=app.id,
            body_sha256=hashlib.sha256(raw).hexdigest(),
            body=raw,
            size=len(raw),
            received_at=when,
            duplicate_count=0,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=when,
        )
        session.add(delivery)
    return delivery.id


async def register(
    db: Database, org: Organization, app: MetaApp, waba_id: str = WABA_ID, name: str = ""
) -> tuple[Waba, int]:
    async with db.transaction() as session:
        return await wabas_service.register_waba(session, org=org, app=app, waba_id=waba_id, name=name)


async def all_events(db: Database) -> list[Event]:
    async with db.read() as session:
        return list(await session.scalars(select(Event).order_by(Event.id)))


async def all_deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.read() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


async def all_changes(db: Database) -> list[WebhookChange]:
    async with db.read() as session:
        return list(await session.scalars(select(WebhookChange).order_by(WebhookChange.id)))


async def delivery(db: Database, delivery_id: int) -> WebhookDelivery:
    async with db.read() as session:
        found = await session.get(WebhookDelivery, delivery_id)
        assert found is not None
        return found


async def state(db: Database, waba: Waba) -> dict[tuple[str, str], StateEntry]:
    async with db.read() as session:
        rows = await session.scalars(select(StateEntry).where(StateEntry.waba_pk == waba.id))
        return {(row.subject, row.key): row for row in rows}


async def count(db: Database, model: type[Any]) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
