"""A person signs in and out in a real browser; htmx 4 loads under our Content-Security-Policy."""

from __future__ import annotations

import re

import httpx2
from playwright.async_api import Page, expect

from app.db.engine import Database
from app.tenancy.models import Role
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import add_member, create_org, create_user
from tests.support.browser import PageProblems, sign_in
from tests.support.live_server import LiveServer


async def member_of_new_org(db: Database, email: str, org_name: str, slug: str) -> None:
    """Direct DB writes (faster than the CLI, which the first test uses)."""
    org = await create_org(db, name=org_name, slug=slug)
    await add_member(db, org, await create_user(db, email=email), Role.OWNER)


async def test_sign_in_through_the_form_then_sign_out(
    watched_page: Page, live_server: LiveServer, problems: PageProblems
) -> None:
    await live_server.create_user("olivia@browser.example", org="harbour-freight")
    page = watched_page

    await sign_in(page, "olivia@browser.example")

    await expect(page).to_have_url(f"{live_server.url}/o/harbour-freight")
    await expect(page.get_by_test_id("org-switcher")).to_have_text("harbour-freight")
    await expect(page.locator(".whoami")).to_have_text("olivia@browser.example")

    await page.get_by_role("button", name="Sign out").click()

    await expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/login/?$"))
    await expect(page.get_by_role("status")).to_contain_text("You are signed out.")
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    # The org page now sends us back to sign in.
    await page.goto("/o/harbour-freight")
    await expect(page).to_have_url(re.compile(r"/login"))
    problems.assert_none()


async def test_wrong_password_shows_the_error_in_the_page(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database
) -> None:
    await member_of_new_org(db, "pat@browser.example", "Pat & Co", "pat-co")
    page = watched_page

    await sign_in(page, "pat@browser.example", "not-the-password")

    await expect(page.get_by_text("do not match an account")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/login"))
    # Chromium logs the 400 answer as a failed resource load: that is the expected outcome here.
    problems.messages = [m for m in problems.messages if "status of 400" not in m]
    problems.assert_none()


async def test_htmx_4_loads_without_csp_errors(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database
) -> None:
    await member_of_new_org(db, "hana@browser.example", "Hana <Imports>", "hana-org")
    page = watched_page
    await sign_in(page, "hana@browser.example", FACTORY_PASSWORD)
    await expect(page).to_have_url(f"{live_server.url}/o/hana-org")
    await expect(page.get_by_test_id("org-switcher")).to_have_text("Hana <Imports>")

    await page.wait_for_function("() => window.htmx !== undefined")
    version = await page.evaluate("() => htmx.version")
    assert version.startswith("4."), version
    # htmx 4 adds its request-indicator CSS as a constructed stylesheet (allowed by style-src 'self').
    assert await page.evaluate("() => document.adoptedStyleSheets.length") >= 1
    problems.assert_none()


async def test_htmx_request_carries_the_csrf_header(
    watched_page: Page, live_server: LiveServer, problems: PageProblems, db: Database
) -> None:
    """hx-headers:inherited on <body> puts the CSRF token on every htmx request."""
    await member_of_new_org(db, "ines@browser.example", "Ines Org", "ines-org")
    page = watched_page
    await sign_in(page, "ines@browser.example", FACTORY_PASSWORD)
    await expect(page).to_have_url(f"{live_server.url}/o/ines-org")
    await page.wait_for_function("() => window.htmx !== undefined")

    async with page.expect_request(lambda r: r.url.endswith("/healthz")) as sent:
        await page.evaluate(
            """() => {
                const button = document.createElement("button");
                button.setAttribute("hx-get", "/healthz");
                button.setAttribute("hx-swap", "none");
                document.querySelector("main").append(button);
                htmx.process(button);
                button.click();
            }"""
        )
    request = await sent.value
    token = await page.evaluate(
        "() => JSON.parse(document.body.getAttribute('hx-headers:inherited'))['X-CSRF-Token']"
    )
    assert token
    assert request.headers.get("x-csrf-token") == token
    problems.assert_none()


async def test_a_csp_violation_fails_the_watch(watched_page: Page, problems: PageProblems) -> None:
    """The watch itself can fail: an inline script is refused by the CSP and reported."""
    page = watched_page
    await page.goto("/login")
    await page.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.pwned = 1";
                   document.head.append(s); }"""
    )
    await page.wait_for_timeout(200)
    assert await page.evaluate("() => window.pwned") is None
    assert any("script-src" in m for m in problems.messages), problems.messages
    problems.messages.clear()


async def test_single_sign_on_round_trip_in_the_browser(
    watched_page: Page, live_server: LiveServer, sso_provider: str, problems: PageProblems, db: Database
) -> None:
    """The provider is another site (localhost vs 127.0.0.1): the Lax session cookie must carry the
    state across the cross-site redirect back, or Authlib refuses the callback."""
    await member_of_new_org(db, "sam@browser.example", "Sam's Shop", "sams-shop")
    async with httpx2.AsyncClient(base_url=sso_provider) as idp:
        claims = {"email": "sam@browser.example", "email_verified": True}
        assert (await idp.put("/users/sam-sso", json=claims)).status_code == 204
    page = watched_page

    await page.goto("/login")
    await page.get_by_role("link", name="Sign in with Example ID").click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(sso_provider)}/oauth2/authorize\?"))
    await page.get_by_placeholder("sub").fill("sam-sso")
    await page.get_by_role("button", name="Authorize").click()

    await expect(page).to_have_url(f"{live_server.url}/o/sams-shop")
    await expect(page.get_by_test_id("org-switcher")).to_have_text("Sam's Shop")
    await expect(page.locator(".whoami")).to_have_text("sam@browser.example")
    problems.assert_none()
