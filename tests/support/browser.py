"""Chromium driven by Playwright's async API, for the packages whose tests use a real browser.

The fixtures are defined here once and registered by each such package's ``conftest.py`` (browser/,
live/), so the browser is started and closed per package, as their package scope says.

pytest-playwright's sync fixtures (``page``, ``browser``) do not mix with pytest-asyncio's session
loop, so these avoid those names; only ``browser_type_launch_args`` is taken from pytest-playwright
(so ``--headed`` and ``--slowmo`` still work). Every page is watched: a console error, an uncaught
exception or a Content-Security-Policy violation fails the test (``watched_page`` checks on
teardown; tests may also check earlier).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

from tests.support.live_server import PASSWORD, LiveServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Runs in every document before its own scripts; Playwright injects it past the page's CSP.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""
OFF_MACHINE = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
async def chromium(browser_type_launch_args: dict[str, Any]) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(**browser_type_launch_args)
        yield browser
        await browser.close()


@dataclass
class PageProblems:
    messages: list[str] = field(default_factory=list)
    reported: bool = False

    def assert_none(self) -> None:
        if self.messages:
            self.reported = True
        assert not self.messages, "browser reported problems:\n" + "\n".join(self.messages)


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
async def watched_page(
    chromium: Browser, live_server: LiveServer, problems: PageProblems, db: object
) -> AsyncIterator[Page]:
    """A fresh browser context's page, watched; depending on ``db`` empties the tables afterwards."""
    context = await chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    await context.add_init_script(CSP_WATCH)
    # Nothing leaves the machine (the provider's page links a CDN stylesheet): answer it empty.
    await context.route(OFF_MACHINE, lambda route: route.fulfill(status=200, body=""))
    page = await context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.messages.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        problems.messages.append(f"pageerror: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    try:
        yield page
    finally:
        await context.close()
    if not problems.reported:  # a test that already failed on them is not failed twice
        problems.assert_none()


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
