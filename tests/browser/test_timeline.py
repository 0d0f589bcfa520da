"""The timeline in a real browser: filters and load-more, the detail page with acknowledgement,
what a viewer sees, and a ``<script>`` in a payload shown as text."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from app.db.engine import Database
from tests.factories import PASSWORD, Personas
from tests.support.browser import PageProblems, sign_in
from tests.support.live_server import LiveServer
from tests.support.timeline import T0, WABA_A, bulk_events, deliver, make_world, name_update, security

EVIL_NAME = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>"


async def test_filters_and_load_more(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await bulk_events(db, world, personas.org, 70, at=T0)
    await deliver(db, world, WABA_A, name_update("REJECTED", "Shrub Shop", "Too generic"))
    page = watched_page
    await sign_in(page, personas.viewer.email, PASSWORD)
    await page.goto("/o/acme/events")
    rows = page.get_by_test_id("event-row")
    await expect(rows).to_have_count(50)

    await page.get_by_label("Kind").select_option("pin_changed")
    await page.get_by_test_id("apply-filters").click()
    await expect(page).to_have_url(re.compile(r"kind=pin_changed"))
    await expect(rows).to_have_count(50)
    await expect(page.get_by_text("Shrub Shop")).to_have_count(0)

    url_before = page.url
    await page.get_by_test_id("older").click()
    await expect(rows).to_have_count(70)  # swapped in place by HTMX
    await expect(page.get_by_test_id("older")).to_have_count(0)
    assert page.url == url_before
    ids = await rows.evaluate_all("rows => rows.map(r => r.id)")
    assert len(set(ids)) == 70

    await page.get_by_label("Text").fill("shrub shop")
    await page.get_by_label("Kind").select_option("")
    await page.get_by_test_id("apply-filters").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Too generic")
    problems.assert_none()


async def test_event_detail_and_acknowledge(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, security("PIN_RESET_REQUEST", requester="mallory"))
    page = watched_page
    await sign_in(page, personas.admin.email, PASSWORD)
    await page.goto("/o/acme/events")
    await page.get_by_test_id("event-link").first.click()
    await expect(page.get_by_test_id("event-summary")).to_contain_text("PIN reset requested")
    explanation = page.get_by_test_id("explanation")
    await expect(explanation).to_contain_text("Business Suite user mallory")
    await expect(explanation).to_contain_text("treat it as an attempt to take over the number")
    await expect(page.get_by_test_id("raw-change")).to_contain_text('"event": "PIN_RESET_REQUEST"')
    await expect(page.get_by_test_id("delivery")).to_contain_text("Signature")

    await page.get_by_test_id("ack-button").click()
    await expect(page.get_by_test_id("acknowledged")).to_contain_text(
        f"Acknowledged by {personas.admin.email}"
    )
    await expect(page.get_by_test_id("ack-button")).to_have_count(0)
    await page.goto("/o/acme")
    await expect(page.get_by_test_id("open-counts")).to_have_text("0 critical, 0 warning")
    problems.assert_none()


async def test_viewer_sees_no_admin_controls(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, security("PIN_RESET_REQUEST"))
    page = watched_page
    await sign_in(page, personas.viewer.email, PASSWORD)
    await page.goto("/o/acme/events")
    await expect(page.get_by_test_id("event-row")).to_have_count(1)
    await expect(page.get_by_test_id("open")).to_have_count(1)
    await expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    await page.get_by_test_id("event-link").click()
    await expect(page.get_by_test_id("event-summary")).to_be_visible()
    await expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    await expect(page.locator("form[action*='/ack']")).to_have_count(0)
    problems.assert_none()


async def test_script_in_a_requested_name_is_shown_as_text(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, name_update("REJECTED", EVIL_NAME, "Not allowed"))
    page = watched_page
    await sign_in(page, personas.viewer.email, PASSWORD)
    for path in ("/o/acme/events", "/o/acme"):
        await page.goto(path)
        await expect(page.get_by_text("<script>window.pwned=1</script>", exact=False).first).to_be_visible()
    await page.goto("/o/acme/events")
    await page.get_by_test_id("event-link").click()
    await expect(page.get_by_test_id("raw-change")).to_contain_text(EVIL_NAME)
    assert await page.evaluate("() => window.pwned === undefined")
    assert await page.locator("img[src=x]").count() == 0
    problems.assert_none()
