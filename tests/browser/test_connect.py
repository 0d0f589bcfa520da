"""In a real browser: an owner connects a WABA by pasting a token, then switches its webhook
subscription off and on in place (HTMX), against the fake Graph API over real HTTP."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from app.db.engine import Database
from app.graph.fake.server import RunningFakeGraph
from app.meta.models import MetaApp
from app.tenancy.models import Role
from tests.factories import add_member, create_meta_app, create_org, create_user
from tests.support.browser import CSP_WATCH, OFF_MACHINE
from tests.support.fake_graph import APP_ID, APP_SECRET, WABA_ID, FakeGraph
from tests.support.live_server import PASSWORD, ROOT, LiveServer, wait_until_healthy
from tests.support.ports import free_port


@pytest.fixture(scope="module")
def graph_server(
    live_server: LiveServer, fake_graph_server: RunningFakeGraph, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app as the package's live server runs it, but with GRAPH_API_BASE at the fake."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**live_server.env, "BASE_URL": url, "GRAPH_API_BASE": fake_graph_server.url}
    log = tmp_path_factory.mktemp("live-graph") / "uvicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(url=url, env=env, process=process, log=log)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
async def page(chromium: Browser, graph_server: LiveServer, db: Database) -> AsyncIterator[Page]:
    context = await chromium.new_context(base_url=graph_server.url)
    context.set_default_timeout(10_000)
    await context.add_init_script(CSP_WATCH)
    await context.route(OFF_MACHINE, lambda route: route.fulfill(status=200, body=""))
    found = await context.new_page()
    problems: list[str] = []
    found.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    found.on("pageerror", lambda e: problems.append(e.message))
    try:
        yield found
    finally:
        await context.close()
    assert not problems, problems


async def test_an_owner_connects_a_waba_by_token_and_toggles_its_subscription_off_and_on(
    page: Page, db: Database, fake_graph: FakeGraph
) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.subscribe(WABA_ID, APP_ID)
    await create_meta_app(db, app_id=APP_ID, secret=APP_SECRET, name="wabawatch test app")
    org = await create_org(db, name="Lucky Shrub", slug="lucky-shrub")
    await add_member(
        db, org, await create_user(db, email="lee@browser.example", password=PASSWORD), Role.OWNER
    )

    await page.goto("/login")
    await page.get_by_label("Email").fill("lee@browser.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{page.url.split('/o/')[0]}/o/lucky-shrub")

    await page.goto("/o/lucky-shrub/wabas/connect")
    await page.get_by_label("WABA id").fill(WABA_ID)
    await page.get_by_label("Access token").fill(seeded.token.value)
    await page.get_by_role("button", name="Check the token and connect").click()

    await expect(page.locator("#toasts")).to_contain_text(
        f"WABA {WABA_ID} is connected: 2 phone numbers synced."
    )
    panel = page.get_by_test_id("subscription-panel")
    await expect(panel.get_by_test_id("subscription-state")).to_contain_text("is subscribed")
    await expect(panel.get_by_test_id("ours")).to_have_count(1)

    await page.evaluate("window.stillTheSamePage = true")
    asked: list[str] = []

    async def answer(dialog: Dialog, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    # Unsubscribing stops the webhooks: it asks first, and "Cancel" changes nothing.
    page.once("dialog", lambda dialog: asyncio.ensure_future(answer(dialog, accept=False)))
    await panel.get_by_role("button", name="Unsubscribe our app").click()
    for _ in range(100):  # the dialog is answered on the event loop, soon after the click
        if asked:
            break
        await asyncio.sleep(0.05)
    assert len(asked) == 1
    assert asked[0].startswith("Unsubscribe our app from WABA ")
    await page.wait_for_timeout(300)  # time for a request, had one been sent
    await expect(panel.get_by_test_id("subscription-state")).to_contain_text("is subscribed")
    assert APP_ID in seeded.waba.subscriptions
    page.once("dialog", lambda dialog: asyncio.ensure_future(answer(dialog, accept=True)))
    await panel.get_by_role("button", name="Unsubscribe our app").click()
    await expect(page.get_by_test_id("subscription-message")).to_contain_text(f"Unsubscribed app {APP_ID}")
    await expect(page.get_by_test_id("subscription-state")).to_contain_text("is not subscribed")
    assert APP_ID not in seeded.waba.subscriptions

    await page.get_by_role("button", name="Subscribe our app").click()
    await expect(page.get_by_test_id("subscription-message")).to_contain_text(f"Subscribed app {APP_ID}")
    await expect(page.get_by_test_id("subscription-state")).to_contain_text("is subscribed")
    assert APP_ID in seeded.waba.subscriptions
    await expect(page.get_by_test_id("subscription-changes")).to_contain_text(
        "lee@browser.example subscribed"
    )
    assert await page.evaluate("window.stillTheSamePage") is True  # swapped in place, no reload


async def test_continue_with_facebook_reaches_the_dialog_and_comes_back_to_the_pick_list(
    page: Page, db: Database, fake_graph: FakeGraph
) -> None:
    fake_graph.seed()
    app = await create_meta_app(db, app_id=APP_ID, secret=APP_SECRET, name="wabawatch test app")
    async with db.transaction() as session:
        stored = await session.get(MetaApp, app.id)
        assert stored is not None
        stored.login_config_id = "555000111"
    org = await create_org(db, name="Lucky Shrub", slug="lucky-shrub")
    await add_member(
        db, org, await create_user(db, email="lee@browser.example", password=PASSWORD), Role.OWNER
    )
    await page.goto("/login")
    await page.get_by_label("Email").fill("lee@browser.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/o/lucky-shrub$"))

    await page.goto("/o/lucky-shrub/wabas/connect")
    await page.get_by_role("link", name="Continue with Facebook").click()
    # Meta's (the fake's) dialog, with the app's login configuration.
    await expect(page.get_by_role("heading")).to_contain_text("wabawatch test app wants to manage")
    dialog = urlsplit(page.url)
    assert f"{dialog.scheme}://{dialog.netloc}" == fake_graph.url
    assert parse_qs(dialog.query)["config_id"] == ["555000111"]
    await page.get_by_role("button", name="Continue").click()

    await expect(
        page.get_by_role("heading", name="Pick the WhatsApp Business Accounts to connect")
    ).to_be_visible()
    assert page.url.startswith(f"{page.url.split('/o/')[0]}/o/lucky-shrub/wabas/connect/facebook/callback")
    pick = page.get_by_test_id("pick-form")
    await expect(pick.locator(f'input[name=waba][value="{WABA_ID}"]')).to_be_checked()
    await pick.get_by_role("button", name="Connect the ticked WABAs").click()
    await expect(page.locator("#toasts")).to_contain_text("connected through Facebook Login.")
    await expect(page).to_have_url(re.compile(r"/o/lucky-shrub$"))
