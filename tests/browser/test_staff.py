"""The support engineer's 3 a.m. path in a real browser: search a fragment of the number, open the
right org (first) with a reason, read what happened to the WABA in words, open the event, see the
raw payload and the alert deliveries it caused. The staff pages fit a phone's width too."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from app.db.engine import Database
from tests.factories import PASSWORD, Personas
from tests.support.browser import PageProblems, sign_in
from tests.support.live_server import LiveServer
from tests.support.staff_world import BAN_DAY, MULLER_WABA_ID, WAMID, failed_alert, make_support_world

WIDTHS = (1440, 390)


async def shoot(page: Page, folder: Path, name: str) -> None:
    """Both widths, full page, and no sideways scrolling of the page itself at either."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, width, overflow)
    await page.set_viewport_size({"width": WIDTHS[0], "height": 900})


async def test_the_3am_path_from_a_fragment_to_the_raw_payload(
    watched_page: Page,
    live_server: LiveServer,
    problems: PageProblems,
    db: Database,
    personas: Personas,
    tmp_path: Path,
) -> None:
    world = await make_support_world(db, personas)
    await failed_alert(db, world)
    page = watched_page
    await sign_in(page, personas.staff.email, PASSWORD)

    await page.goto("/staff")
    await page.get_by_label("Search").fill("7707")
    await page.get_by_role("button", name="Search").click()
    hits = page.get_by_test_id("staff-hit")
    await expect(hits.first).to_have_attribute("data-org", "muller")
    await expect(hits.first.locator("mark").first).to_have_text("7707")
    await shoot(page, tmp_path, "search")

    await hits.first.get_by_test_id("open-org").click()
    await page.get_by_label("Reason (ticket reference)").fill("ticket SUP-3AM")
    await page.get_by_role("button", name="Open").click()
    await expect(page).to_have_url(re.compile(r"/staff/orgs/muller$"))
    headline = page.get_by_test_id("attention-headline").first
    await expect(headline).to_have_text(
        f"WABA Björk Outdoor ({MULLER_WABA_ID}) disabled since {BAN_DAY}, because of a policy violation: adult content."
    )
    await shoot(page, tmp_path, "org")

    await page.get_by_role("link", name="Events", exact=True).click()
    await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    row = page.get_by_test_id("event-row").filter(has_text="disabled_update")
    await shoot(page, tmp_path, "events")
    await row.get_by_test_id("event-link").click()
    await expect(page.get_by_test_id("raw-change")).to_contain_text('"waba_ban_state": "DISABLE"')
    caused = page.get_by_test_id("caused-delivery")
    await expect(caused).to_have_count(1)
    await expect(caused).to_contain_text("550 5.1.1 mailbox unavailable")
    await shoot(page, tmp_path, "event")

    await page.get_by_test_id("delivery-link").click()
    await expect(page.get_by_test_id("raw-body")).to_contain_text(WAMID)
    await shoot(page, tmp_path, "delivery")

    for path, name in (("/staff/orgs/muller/alerts", "alerts"), ("/staff/audit", "audit")):
        await page.goto(path)
        await shoot(page, tmp_path, name)
    print(f"screenshots in {tmp_path}")
    problems.assert_none()
