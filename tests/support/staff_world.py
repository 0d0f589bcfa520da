"""Small worlds for staff tests: org A with a WABA, a phone number with a requested name, state
and events from Meta's examples, org B with nothing; and the 3 a.m. customer (``make_support_world``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.alerts.models import AlertChannel, AlertDelivery
from app.db.engine import Database
from app.events.models import Event
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.tenancy.models import Organization, Role
from app.wabas.models import PhoneNumber, Waba
from tests.factories import Personas, add_member, create_meta_app, create_org, create_user
from tests.support.payloads import body, entry, fixture, quality_change
from tests.support.rows import register, store_delivery

WABA_ID = "102290129340398"
DISPLAY = "16505551111"


@dataclass
class World:
    app: MetaApp
    waba: Waba


async def make_world(db: Database, personas: Personas) -> World:
    meta_app = await create_meta_app(db, org_id=personas.org.id)
    waba, _ = await register(db, personas.org, meta_app, WABA_ID, name="Acme Support Line")
    name_update = fixture("phone_number_name_update__approved")
    name_update["entry"][0]["id"] = WABA_ID
    name_update["entry"][0]["changes"][0]["value"]["display_phone_number"] = DISPLAY
    name_update["entry"][0]["changes"][0]["value"]["requested_verified_name"] = "Zephyr Parcels"
    await store_delivery(db, meta_app, name_update)
    await store_delivery(
        db, meta_app, body(entry(WABA_ID, [quality_change("DOWNGRADE", "TIER_1K", DISPLAY)]))
    )
    await Processor(db).run_until_idle()
    return World(app=meta_app, waba=waba)


# A customer a support engineer looks for at 3 a.m.: an org with accents in its names, its own Meta
# app, a disabled WABA (and why), a number ending in 7707, a failed message and a template; and a
# decoy org, first by name, whose WABA id only has "7707" somewhere inside.
MULLER_APP_ID = "7100200300400"
MULLER_WABA_ID = "104996122399160"
MULLER_DIGITS = "14152627707"
MULLER_PHONE_ID = "109876543210987"
WAMID = "wamid.HBgLMTQxNTI2Mjc3MDcVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA"
TEMPLATE = "frühlings_angebot"
BAN_DATE = "November 30, 2026"  # Meta writes the ban date as prose
BAN_DAY = "2026-11-30"  # and pages show it as a day
DECOY_WABA_ID = "1077070000123"


@dataclass
class SupportWorld:
    muller: Organization
    muller_app: MetaApp
    muller_waba: Waba
    decoy: Organization


def _change(name: str, **value: Any) -> dict[str, Any]:
    change = fixture(name)["entry"][0]["changes"][0]
    change["value"].update(value)
    return change


async def make_support_world(db: Database, personas: Personas) -> SupportWorld:
    muller = await create_org(db, name="Müller Outdoor GmbH", slug="muller")
    owner = await create_user(db, email="ops@muller.example")
    await add_member(db, muller, owner, Role.OWNER)
    muller_app = await create_meta_app(db, org_id=muller.id, app_id=MULLER_APP_ID, name="Müller app")
    waba, _ = await register(db, muller, muller_app, MULLER_WABA_ID, name="Björk Outdoor")
    async with db.transaction() as session:
        session.add(
            PhoneNumber(
                org_id=muller.id,
                waba_pk=waba.id,
                phone_number_id=MULLER_PHONE_ID,
                digits=MULLER_DIGITS,
                display_phone_number="+1 415-262-7707",
                verified_name="Björk Outdoor",
            )
        )
    failed = _change("messages__status_failed")
    failed["value"]["metadata"] = {"display_phone_number": MULLER_DIGITS, "phone_number_id": MULLER_PHONE_ID}
    failed["value"]["statuses"][0]["id"] = WAMID
    changes = [
        _change("account_update__account_violation"),
        _change(
            "account_update__disabled_update_reinstate",
            ban_info={"waba_ban_state": "DISABLE", "waba_ban_date": BAN_DATE},
        ),
        failed,
        _change("message_template_status_update__approved", message_template_name=TEMPLATE),
    ]
    await store_delivery(db, muller_app, body(entry(MULLER_WABA_ID, changes)))
    platform = await create_meta_app(db, app_id="5550001112223")
    decoy = await create_org(db, name="Aardvark Supplies", slug="aardvark")
    await register(db, decoy, platform, DECOY_WABA_ID, name="Aardvark main")
    await Processor(db).run_until_idle()
    return SupportWorld(muller=muller, muller_app=muller_app, muller_waba=waba, decoy=decoy)


async def failed_alert(db: Database, world: SupportWorld) -> AlertDelivery:
    """The email alert the customer "never got": the disabled WABA's alert, failed for good."""
    async with db.transaction() as session:
        event = await session.scalar(
            select(Event).where(Event.org_id == world.muller.id, Event.kind == "disabled_update")
        )
        assert event is not None
        channel = AlertChannel(
            org_id=world.muller.id, kind="email", label="ops@muller.example", address="ops@muller.example"
        )
        session.add(channel)
        await session.flush()
        row = AlertDelivery(
            org_id=world.muller.id,
            channel_id=channel.id,
            event_id=event.id,
            kind="alert",
            status="failed",
            payload={"summary": event.summary},
            attempts=6,
            run_at=utcnow(),
            last_error="550 5.1.1 mailbox unavailable",
        )
        session.add(row)
    return row
