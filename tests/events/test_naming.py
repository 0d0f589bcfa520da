"""Every event says which WABA (name, then id) and which number, and Meta's codes read as words
with the code kept as a detail."""

from __future__ import annotations

import re

import httpx2

from app.db.engine import Database
from tests.factories import Personas, login
from tests.support.events import E, store_events
from tests.support.timeline import (
    PHONE,
    WABA_A,
    WABA_B,
    deliver,
    events_of,
    make_world,
    name_update,
    quality,
    restriction,
)


def cells(html: str, testid: str) -> list[str]:
    """The visible text of each element with this data-testid (tags dropped, spaces folded)."""
    found = re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</(?:td|dd|span)>', html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in found]


async def test_each_timeline_row_names_the_waba_and_the_number(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub"), WABA_B: (personas.org, "Bravo")})
    await deliver(db, world, WABA_A, restriction("RESTRICTED_ADD_PHONE_NUMBER_ACTION", 1_765_000_000))
    await deliver(db, world, WABA_B, quality("DOWNGRADE", "TIER_1K", phone="15550002222"))
    await login(client, personas.viewer)
    page = (await client.get("/o/acme/events")).text
    assert cells(page, "event-waba") == [f"Bravo {WABA_B}", f"Lucky Shrub {WABA_A}"]
    assert cells(page, "event-phone") == ["+1 555-000-2222"]  # the restriction names no number
    assert "WABA · number" in page
    assert cells(page, "event-field")[1].startswith("account ")
    # The WABA's own page lists its rows the same way.
    waba_page = (await client.get(f"/o/acme/wabas/{world.wabas[WABA_A].id}")).text
    assert cells(waba_page, "event-waba") == [f"Lucky Shrub {WABA_A}"]


async def test_a_row_of_a_waba_without_a_name_shows_its_id(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await store_events(db, personas.org, [E("PIN changed", waba_id="104000000000001")])
    await login(client, personas.viewer)
    page = (await client.get("/o/acme/events")).text
    assert cells(page, "event-waba") == ["WABA 104000000000001"]


async def test_the_event_page_names_the_waba_and_number_and_says_codes_in_words_with_the_code(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, name_update("REJECTED", "Shrub Co", "NAME_ENDCLIENT_NOTRELATED"))
    (event,) = await events_of(db, personas.org)
    await login(client, personas.viewer)
    page = (await client.get(f"/o/acme/events/{event.id}")).text
    assert cells(page, "event-waba") == [f"Lucky Shrub {WABA_A}"]
    assert cells(page, "event-phone") == ["+1 555-078-3881"]
    assert "name not related to the business (NAME_ENDCLIENT_NOTRELATED)" in page
    assert event.summary.endswith(": name not related to the business")
    title = re.search(r"<title>(.*?)</title>", page, flags=re.S)
    assert title is not None
    assert f"Lucky Shrub ({WABA_A})" in title.group(1)
    assert re.search(r"<dt>Occurred</dt><dd><time [^>]+>\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>", page)


async def test_an_unreadable_change_is_explained_in_words(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    [event] = await store_events(
        db,
        personas.org,
        [
            E(
                "A notification about display name could not be read: boom",
                field="phone_number_name_update",
                kind="could_not_be_read",
                phone=PHONE,
            )
        ],
    )
    await login(client, personas.viewer)
    page = (await client.get(f"/o/acme/events/{event.id}")).text
    assert "could not read it, even after retrying" in page
    assert "reprocess" in page
    assert "An update from Meta that wabawatch shows as received" not in page  # not the generic text
