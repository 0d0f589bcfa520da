"""Finding events in a real browser: the pickers, the period presets, a refused value that stays
in the form with its reason, and "open only" reached from the overview's count."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from app.db.engine import Database
from app.lib.timeutil import utcnow
from tests.factories import PASSWORD, Personas
from tests.support.browser import PageProblems, sign_in
from tests.support.live_server import LiveServer
from tests.support.timeline import WABA_A, WABA_B, deliver, make_world, name_update, quality, security

HOUR = 3600


async def _world(db: Database, personas: Personas) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub"), WABA_B: (personas.org, "Second")})
    now = int(utcnow().timestamp())
    await deliver(db, world, WABA_A, security("PIN_RESET_REQUEST", phone="15552627707"), time=now - HOUR // 2)
    await deliver(db, world, WABA_A, name_update("REJECTED", "Shrub Shop"), time=now - 3 * HOUR)
    await deliver(
        db, world, WABA_B, quality("UPGRADE", "TIER_10K", phone="15550001111"), time=now - 48 * HOUR
    )
    await deliver(db, world, WABA_A, security("PIN_CHANGED", phone="15552627707"), time=now - 240 * HOUR)


async def test_pickers_and_presets_narrow_the_timeline(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database, personas: Personas
) -> None:
    await _world(db, personas)
    page = watched_page
    await sign_in(page, personas.viewer.email, PASSWORD)
    await page.goto("/o/acme/events")
    rows = page.get_by_test_id("event-row")
    await expect(rows).to_have_count(4)

    await page.get_by_label("Field").select_option("security")
    await page.get_by_label("WABA").select_option(label=f"Lucky Shrub ({WABA_A})")
    await page.get_by_test_id("apply-filters").click()
    await expect(page).to_have_url(re.compile(rf"field=security.*waba={WABA_A}"))
    await expect(rows).to_have_count(2)
    await page.get_by_label("Kind").select_option("pin_reset_request")
    await page.get_by_test_id("apply-filters").click()
    await expect(rows).to_have_count(1)
    await expect(page.get_by_label("Kind")).to_have_value("pin_reset_request")

    await page.goto("/o/acme/events")
    for preset, count in (("the last hour", 1), ("the last 24 hours", 2), ("the last 7 days", 3)):
        await page.get_by_label("When").select_option(label=preset)
        await page.get_by_test_id("apply-filters").click()
        await expect(page).to_have_url(re.compile(r"last=(1h|24h|7d)"))
        await expect(rows).to_have_count(count)
    await page.get_by_label("When").select_option(label="any time")
    await page.get_by_label("Phone").fill("7707")
    await page.get_by_test_id("apply-filters").click()
    await expect(rows).to_have_count(2)
    problems.assert_none()


async def test_a_bad_value_stays_typed_and_the_page_says_what_is_wrong(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database, personas: Personas
) -> None:
    await _world(db, personas)
    page = watched_page
    await sign_in(page, personas.viewer.email, PASSWORD)
    await page.goto("/o/acme/events")
    await page.get_by_label("Phone").fill("555-999-1234")
    await page.get_by_label("Text").fill("shrub")
    await page.get_by_test_id("apply-filters").click()
    error = page.get_by_test_id("filter-error")
    await expect(error).to_contain_text("No number in the events of this organization contains 5559991234")
    await expect(page.get_by_label("Phone")).to_have_value("555-999-1234")
    await expect(page.get_by_label("Text")).to_have_value("shrub")
    await expect(page.get_by_test_id("no-events")).to_contain_text("until the filter above is corrected")

    await page.goto("/o/acme/events?field=securty")
    await expect(error).to_contain_text("Did you mean “security”?")
    await expect(page.get_by_label("Field")).to_have_value("securty")
    await page.get_by_label("Field").select_option("security")
    await page.get_by_test_id("apply-filters").click()
    await expect(error).to_have_count(0)
    await expect(page.get_by_test_id("event-row")).to_have_count(2)
    # The refused filters were answered 400 on purpose; Chromium logs every 400 it loads.
    refused = [m for m in problems.messages if "status of 400" in m and "/o/acme/events?" in m]
    assert len(refused) == 2
    problems.messages = [m for m in problems.messages if m not in refused]
    problems.assert_none()


async def test_open_only_from_the_overviews_count(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database, personas: Personas
) -> None:
    await _world(db, personas)
    page = watched_page
    await sign_in(page, personas.admin.email, PASSWORD)
    await page.goto("/o/acme/events?severity=warning")
    await expect(page.get_by_test_id("event-row")).to_have_count(3)
    await page.get_by_test_id("ack-button").first.click()  # the newest: the PIN reset request
    await expect(page.get_by_test_id("acknowledged")).to_have_count(1)

    await page.goto("/o/acme")
    card = page.get_by_test_id("waba-card").filter(has_text="Lucky Shrub")
    await expect(card.get_by_test_id("open-link")).to_have_text("0 critical, 2 warning")
    await card.get_by_test_id("open-link").click()
    await expect(page).to_have_url(re.compile(r"open=1"))
    await expect(page.get_by_label("Open only (not acknowledged)")).to_be_checked()
    await expect(page.get_by_test_id("event-row")).to_have_count(2)
    await expect(page.get_by_test_id("ack-button")).to_have_count(2)
    problems.assert_none()
