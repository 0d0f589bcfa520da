"""Disconnecting a WABA (stop syncing, optionally unsubscribe, keep history) and deleting it with
confirmation (its events go too)."""

from __future__ import annotations

import httpx2
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.events.models import Event
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.wabas.models import Waba
from tests.factories import Personas, login, post_form
from tests.support.connect import connected
from tests.support.fake_graph import APP_ID, WABA_ID, FakeGraph, Seeded
from tests.support.payloads import body, entry, quality_change
from tests.support.rows import count, store_delivery

pytestmark = pytest.mark.usefixtures("graph", "our_app")


def page_of(waba: Waba) -> str:
    return f"/o/acme/wabas/{waba.id}/subscription"


async def test_disconnect_with_unsubscribe_forgets_the_token_and_keeps_the_history(
    client: httpx2.AsyncClient,
    db: Database,
    personas: Personas,
    fake_graph: FakeGraph,
    seeded: Seeded,
    our_app: MetaApp,
) -> None:
    fake_graph.state.subscribe(WABA_ID, APP_ID)
    waba = await connected(client, db, personas, seeded)
    await store_delivery(
        db, our_app, body(entry(WABA_ID, [quality_change("UPGRADE", "TIER_10K", "16315551000")]))
    )
    await Processor(db, hooks=[]).run_until_idle()
    events = await count(db, Event)
    response = await post_form(
        client, f"/o/acme/wabas/{waba.id}/disconnect", {"unsubscribe": "1"}, page=page_of(waba)
    )
    assert response.status_code == 303
    page = await client.get(page_of(waba))
    assert f"WABA {WABA_ID} is disconnected and unsubscribed" in page.text
    assert seeded.waba.subscriptions == {}
    async with db.read() as session:
        after = await session.get(Waba, waba.id)
    assert after is not None
    assert after.access_token is None
    assert await count(db, Event) == events > 0


async def test_a_refused_unsubscribe_stops_the_disconnect(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    fake_graph.state.fail("missing_permission", method="DELETE")
    await post_form(client, f"/o/acme/wabas/{waba.id}/disconnect", {"unsubscribe": "1"}, page=page_of(waba))
    page = await client.get(page_of(waba))
    assert "Not disconnected: Could not unsubscribe the app" in page.text
    async with db.read() as session:
        after = await session.get(Waba, waba.id)
    assert after is not None
    assert after.access_token == seeded.token.value


async def test_delete_needs_the_waba_id_and_takes_the_events_with_it(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded, our_app: MetaApp
) -> None:
    waba = await connected(client, db, personas, seeded)
    await store_delivery(
        db, our_app, body(entry(WABA_ID, [quality_change("UPGRADE", "TIER_10K", "16315551000")]))
    )
    await Processor(db, hooks=[]).run_until_idle()
    assert await count(db, Event) == 1
    await post_form(client, f"/o/acme/wabas/{waba.id}/delete", {"confirm": "123"}, page=page_of(waba))
    assert f"type the WABA id {WABA_ID} to confirm" in (await client.get(page_of(waba))).text
    assert await count(db, Waba) == 1
    response = await post_form(
        client, f"/o/acme/wabas/{waba.id}/delete", {"confirm": WABA_ID}, page=page_of(waba)
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("/o/acme")
    assert (await count(db, Waba), await count(db, Event)) == (0, 0)


async def test_a_viewer_cannot_delete_and_an_outsider_gets_404(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    for user, status in ((personas.viewer, 403), (personas.outsider, 404)):
        client.cookies.clear()
        await login(client, user)
        token_page = page_of(waba) if status == 403 else "/o/bravo"
        response = await post_form(
            client, f"/o/acme/wabas/{waba.id}/delete", {"confirm": WABA_ID}, page=token_page
        )
        assert response.status_code == status
    async with db.read() as session:
        assert list(await session.scalars(select(Waba.waba_id))) == [WABA_ID]
