"""The overview's set-up checklist follows the org's real state, and notifications that arrived
through the org's own app for a WABA nobody connected are offered for connecting."""

from __future__ import annotations

import html
import re

import httpx2
from sqlalchemy import update

from app.db.engine import Database
from app.processing.processor import Processor
from app.wabas.models import Waba
from tests.factories import Personas, create_meta_app, login
from tests.support.meta_app import APP_ID, VERIFY_TOKEN
from tests.support.payloads import WABA_ID, fixture
from tests.support.rows import register, store_delivery


def steps(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="(\w+)" class="(ok|todo)"', page))


def delivery_for(waba_id: str) -> dict[str, object]:
    change = fixture("account_update__verified_account_legacy")["entry"][0]["changes"][0]
    entry = {"id": waba_id, "time": 1_748_454_394, "changes": [change]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


async def test_a_new_orgs_overview_is_a_checklist_that_ticks_what_really_happened(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    page = (await client.get("/o/acme")).text
    assert steps(page) == dict.fromkeys(
        ("app", "callback", "handshake", "waba", "subscribe", "event"), "todo"
    )
    assert "Add its app id, app secret and verify token" in page

    app = await create_meta_app(db, org_id=personas.org.id)
    page = (await client.get("/o/acme")).text
    assert steps(page)["app"] == "ok"
    assert f'<code id="callback-{APP_ID}">http://testserver/webhooks/whatsapp/{APP_ID}</code>' in page
    assert f'data-copy-from="token-{APP_ID}"' in page
    assert VERIFY_TOKEN in page

    shake = await client.get(
        f"/webhooks/whatsapp/{APP_ID}",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
    )
    assert shake.text == "42"
    waba, _ = await register(db, personas.org, app, WABA_ID, "Acme US")
    page = (await client.get("/o/acme")).text
    assert steps(page) == {
        "app": "ok",
        "callback": "ok",
        "handshake": "ok",
        "waba": "ok",
        "subscribe": "todo",
        "event": "todo",
    }
    assert "Handshake seen" in page
    assert "Send a test event" in page

    async with db.transaction() as session:
        await session.execute(update(Waba).where(Waba.id == waba.id).values(subscribed=True))
    await store_delivery(db, app, delivery_for(WABA_ID))
    await Processor(db).run_until_idle()
    page = (await client.get("/o/acme")).text
    assert 'data-testid="setup-checklist"' not in page  # all done: the cards alone


async def test_a_viewer_sees_the_checklist_without_the_token_or_the_test_button(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    app = await create_meta_app(db, org_id=personas.org.id)
    await register(db, personas.org, app, WABA_ID, "Acme US")
    await login(client, personas.viewer)
    page = (await client.get("/o/acme")).text
    assert 'data-testid="setup-checklist"' in page
    assert VERIFY_TOKEN not in page
    assert "Send a test event" not in page
    assert (await client.post("/o/acme/setup/test-event")).status_code in (400, 403)


async def test_notifications_for_a_waba_nobody_connected_are_offered_for_connecting(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    app = await create_meta_app(db, org_id=personas.org.id)
    await store_delivery(db, app, delivery_for("555666777888"))
    await Processor(db).run_until_idle()
    await login(client, personas.admin)
    page = html.unescape((await client.get("/o/acme")).text)
    offer = page.split('data-testid="unrouted-offer"')[1].split("</section>")[0]
    assert "WABA 555666777888: 1 notification through Test app" in offer
    link = f"/o/acme/wabas/connect?waba_id=555666777888&app_id={APP_ID}"
    assert link in offer
    connect = await client.get(link)
    assert 'name="waba_id" value="555666777888"' in connect.text


async def test_an_org_on_the_platform_app_whose_notifications_arrive_needs_no_checklist(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    """Like the demo org: the platform's app delivers its webhooks; no handshake was recorded here."""
    platform = await create_meta_app(db, org_id=None, name="wabawatch platform")
    waba, _ = await register(db, personas.org, platform, WABA_ID, "Acme US")
    await login(client, personas.admin)
    page = (await client.get("/o/acme")).text
    assert steps(page)["app"] == "ok"
    assert "wabawatch set up the platform app's callback URL for you." in html.unescape(page)
    assert steps(page)["handshake"] == "todo"
    async with db.transaction() as session:
        await session.execute(update(Waba).where(Waba.id == waba.id).values(subscribed=True))
    await store_delivery(db, platform, delivery_for(WABA_ID))
    await Processor(db).run_until_idle()
    page = (await client.get("/o/acme")).text
    assert 'data-testid="setup-checklist"' not in page
    assert 'data-testid="unrouted-offer"' not in page
