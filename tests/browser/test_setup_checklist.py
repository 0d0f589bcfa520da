"""In Chromium: a new org's overview is a set-up checklist that follows its real state. Meta's
handshake turns its step green without a reload, and "Send a test event" posts a signed sample to
the org's own callback URL on the running server, which then arrives on the page, live.

The server here runs its own in-process worker (the package's shared server does not), so it lives
only for this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from app.alerts.models import AlertDelivery
from app.db.engine import Database
from app.events.models import Event
from app.tenancy.models import Role
from app.wabas.models import Waba
from tests.factories import add_member, create_meta_app, create_org, create_user
from tests.support.browser import sign_in
from tests.support.live_server import PASSWORD, LiveServer, start_server, wait_until_healthy
from tests.support.meta_app import APP_ID, VERIFY_TOKEN
from tests.support.rows import register

WABA_ID = "102290129340398"


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(database_url, tmp_path_factory.mktemp("setup-browser"), worker=True)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        server.process.terminate()
        server.process.wait(15)


async def test_the_checklist_turns_green_live_on_the_handshake_and_shows_a_test_event_arriving(
    watched_page: Page, live_server: LiveServer, db: Database
) -> None:
    page = watched_page
    org = await create_org(db, name="Fresh Co", slug="fresh")
    await add_member(db, org, await create_user(db, email="new@fresh.example", password=PASSWORD), Role.OWNER)
    app = await create_meta_app(db, org_id=org.id, name="Fresh app")

    await sign_in(page, "new@fresh.example")
    await expect(page).to_have_url(re.compile(r"/o/fresh$"))
    checklist = page.get_by_test_id("setup-checklist")
    await expect(checklist.locator("[data-step=app]")).to_have_class("ok")
    await expect(checklist).to_contain_text(f"{live_server.url}/webhooks/whatsapp/{APP_ID}")
    await expect(checklist).to_contain_text(VERIFY_TOKEN)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = checklist.locator(f'button[data-copy-from="callback-{APP_ID}"]')
    await copy.click()
    await expect(copy).to_have_text("Copied")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{live_server.url}/webhooks/whatsapp/{APP_ID}"
    handshake = checklist.locator("[data-step=handshake]")
    await expect(handshake).to_have_class("todo")
    await expect(checklist.locator("[data-step=waba]")).to_have_class("todo")
    await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live", timeout=30_000)
    await page.evaluate("() => { window.notReloaded = true; }")

    # Meta's verification request, as Meta sends it.
    async with httpx2.AsyncClient() as meta:
        answer = await meta.get(
            f"{live_server.url}/webhooks/whatsapp/{APP_ID}",
            params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        )
    assert answer.text == "1158201444"
    await expect(page.get_by_test_id("handshake-step")).to_have_class("ok", timeout=20_000)
    await expect(page.get_by_test_id("handshake-step")).to_contain_text("Handshake seen")
    assert await page.evaluate("window.notReloaded") is True

    await register(db, org, app, WABA_ID, "Fresh US")
    await page.reload()
    checklist = page.get_by_test_id("setup-checklist")
    await expect(checklist.locator("[data-step=waba]")).to_have_class("ok")
    await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live", timeout=30_000)
    await checklist.get_by_role("button", name="Send a test event").click()
    await expect(page.get_by_test_id("test-event-result")).to_contain_text(
        "Posted to the callback URL: stored in"
    )
    await expect(page.get_by_test_id("test-arrived")).to_contain_text("Test event arrived", timeout=20_000)
    # A test event is not Meta's first notification, and it alerts nobody.
    await expect(page.get_by_test_id("setup-checklist").locator("[data-step=event]")).to_have_class("todo")
    async with db.read() as session:
        events = list(await session.scalars(select(Event).where(Event.org_id == org.id)))
        outbox = list(await session.scalars(select(AlertDelivery)))
    assert [(e.field, e.kind, e.waba_id, e.severity) for e in events] == [
        ("wabawatch_test", "test_event", WABA_ID, 0)
    ]
    assert events[0].summary == "Test event sent from wabawatch by new@fresh.example: no action needed"
    assert outbox == []
    async with db.read() as session:
        waba = await session.scalar(select(Waba).where(Waba.org_id == org.id))
    assert waba is not None
    assert waba.last_event_at is None  # Meta has not spoken: a silent WABA still shows as silent
