"""A small world for staff tests: org A with a WABA, a phone number with a requested name, state
and events from Meta's examples; org B with nothing."""

from __future__ import annotations

from dataclasses import dataclass

from app.db.engine import Database
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.wabas.models import Waba
from tests.factories import Personas, create_meta_app
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
