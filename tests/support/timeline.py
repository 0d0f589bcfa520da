"""A world for the timeline, export and WABA page tests: real deliveries through real processing,
changes to build them from, and events in bulk."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from app.db.engine import Database
from app.events.models import Event
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.tenancy.models import Organization
from app.wabas.models import Waba
from app.webhooks.models import WebhookChange, WebhookDelivery
from tests.factories import create_meta_app
from tests.support.payloads import body, entry
from tests.support.rows import register, store_delivery

WABA_A = "102290129340398"
WABA_B = "104996122399160"
PHONE = "15550783881"
_times = itertools.count(1_764_000_000, 60)


@dataclass
class World:
    app: MetaApp
    wabas: dict[str, Waba]


async def make_world(db: Database, wabas: dict[str, tuple[Organization, str]]) -> World:
    """One Meta app and the given WABAs: waba id -> (org, name)."""
    app = await create_meta_app(db)
    registered = {}
    for waba_id, (org, name) in wabas.items():
        registered[waba_id], _ = await register(db, org, app, waba_id=waba_id, name=name)
    return World(app, registered)


async def deliver(
    db: Database, world: World, waba_id: str, *changes: dict[str, Any], time: int | None = None
) -> int:
    """One delivery with these changes on one WABA, processed; returns the delivery id."""
    when = time if time is not None else next(_times)
    delivery_id = await store_delivery(db, world.app, body(entry(waba_id, list(changes), time=when)))
    await Processor(db).run_until_idle()
    return delivery_id


def name_update(decision: str, name: str, reason: str | None = None, phone: str = PHONE) -> dict[str, Any]:
    value: dict[str, Any] = {
        "display_phone_number": phone,
        "decision": decision,
        "requested_verified_name": name,
    }
    if reason:
        value["rejection_reason"] = reason
    return {"field": "phone_number_name_update", "value": value}


def security(event: str, requester: str | None = None, phone: str = PHONE) -> dict[str, Any]:
    value: dict[str, Any] = {"display_phone_number": phone, "event": event}
    if requester:
        value["requester"] = requester
    return {"field": "security", "value": value}


def quality(event: str, tier: str, phone: str = PHONE) -> dict[str, Any]:
    return {
        "field": "phone_number_quality_update",
        "value": {"display_phone_number": phone, "event": event, "current_limit": tier},
    }


def restriction(kind: str, expires: int) -> dict[str, Any]:
    return {
        "field": "account_update",
        "value": {
            "event": "ACCOUNT_RESTRICTION",
            "restriction_info": [{"restriction_type": kind, "expiration": expires}],
        },
    }


async def events_of(db: Database, org: Organization) -> list[Event]:
    async with db.read() as session:
        rows = await session.scalars(select(Event).where(Event.org_id == org.id).order_by(Event.id))
        return list(rows)


async def bulk_events(
    db: Database, world: World, org: Organization, count: int, *, at: datetime, summary: str = "bulk {n}"
) -> None:
    """``count`` events of one change (seq 0..count-1), all at the same time: fast, and the worst
    case for keyset paging (only ids tell them apart)."""
    async with db.transaction() as session:
        delivery = WebhookDelivery(
            app_pk=world.app.id,
            body_sha256=f"{count:064x}",
            body=b"{}",
            size=2,
            received_at=at,
            status="processed",
        )
        session.add(delivery)
        await session.flush()
        change = WebhookChange(
            delivery_id=delivery.id,
            app_pk=world.app.id,
            entry_index=0,
            change_index=0,
            field="security",
            entry_id=WABA_A,
            waba_id=WABA_A,
            org_id=org.id,
            dedup_key=f"{count:064x}",
            value={},
            received_at=at,
            status="processed",
        )
        session.add(change)
        await session.flush()
        rows = [
            {
                "change_id": change.id,
                "seq": n,
                "app_pk": world.app.id,
                "org_id": org.id,
                "waba_id": WABA_A,
                "phone": PHONE,
                "field": "security",
                "kind": "pin_changed",
                "severity": 1,
                "occurred_at": at,
                "received_at": at,
                "summary": summary.format(n=n),
                "details": {},
            }
            for n in range(count)
        ]
        await session.execute(insert(Event), rows)


T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
