"""An event page's "Related events": other events about the same template, number or WABA, never
whatever happened nearby in time (message statuses least of all)."""

from __future__ import annotations

import re
from typing import Any

import httpx2

from app.db.engine import Database
from app.events.parsed import Severity
from tests.factories import Personas, login
from tests.support.events import E, store_events
from tests.support.timeline import WABA_A, deliver, events_of, make_world, restriction, security


def related_ids(page: httpx2.Response) -> set[int]:
    assert page.status_code == 200, page.text
    section = page.text[page.text.index('data-testid="related"') :]
    return {int(i) for i in re.findall(r"/o/acme/events/(\d+)\"", section)}


def template(event: str, template_id: int, name: str) -> dict[str, Any]:
    return {
        "field": "message_template_status_update",
        "value": {
            "event": event,
            "message_template_id": template_id,
            "message_template_name": name,
            "message_template_language": "en_US",
            "reason": "NONE",
        },
    }


async def test_a_template_event_relates_to_the_same_templates_other_updates(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, template("PENDING", 111, "order_ready"))
    await deliver(db, world, WABA_A, template("PENDING", 222, "welcome"))
    await deliver(db, world, WABA_A, security("PIN_CHANGED"))
    await deliver(db, world, WABA_A, template("REJECTED", 111, "order_ready"))
    pending, other_template, _pin, rejected = await events_of(db, personas.org)
    await login(client, personas.viewer)
    page = await client.get(f"/o/acme/events/{rejected.id}")
    assert related_ids(page) == {pending.id}
    assert "Related events about template “order_ready” (en_US)" in page.text
    assert related_ids(await client.get(f"/o/acme/events/{other_template.id}")) == set()


async def test_a_number_event_relates_to_the_numbers_account_events_not_its_message_statuses(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    stored = await store_events(
        db,
        personas.org,
        [
            E("PIN changed", field="security", kind="pin_changed", severity=Severity.WARNING),
            E("delivered", field="messages", kind="status_delivered"),
            E("failed", field="messages", kind="status_failed", severity=Severity.WARNING),
            E("name rejected", field="phone_number_name_update", kind="rejected"),
            E("other number", field="security", kind="pin_changed", phone="15550009999"),
        ],
    )
    pin, delivered, failed, name, _other = stored
    await login(client, personas.viewer)
    page = await client.get(f"/o/acme/events/{pin.id}")
    assert related_ids(page) == {name.id}
    assert "Related events about +1 555-078-3881" in page.text
    # A message event's related ones are the number's other events of its own field.
    assert related_ids(await client.get(f"/o/acme/events/{failed.id}")) == {delivered.id}


async def test_a_waba_event_relates_to_the_wabas_own_events(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, restriction("RESTRICTED_ADD_PHONE_NUMBER_ACTION", 1_765_000_000))
    await deliver(db, world, WABA_A, security("PIN_CHANGED"))
    await deliver(db, world, WABA_A, {"field": "account_review_update", "value": {"decision": "APPROVED"}})
    restricted, _pin, review = await events_of(db, personas.org)
    await login(client, personas.viewer)
    page = await client.get(f"/o/acme/events/{review.id}")
    assert related_ids(page) == {restricted.id}
    assert f"Related events about WABA Lucky Shrub ({WABA_A})" in page.text
