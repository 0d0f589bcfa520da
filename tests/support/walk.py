"""The demo org with real content for the page walk, and the walk itself: every page reachable from
the navigation, breadth first, at a wide and a phone-sized window.

``seed_demo_with_history`` runs the demo's own seed (app.demo: users, the demo app, its WABAs),
then stores and processes a history in which the demo's accounts are restricted, disabled,
rejected, downgraded and silent, with templates, quality changes and PIN resets, plus a fixed
sample of the simulator's realistic mix.

``walk`` renders one page of each kind (the same path with other ids or other query values is the
same kind) at both widths, and asks the server for every link found (an HTTP GET in the signed-in
browser context), so each link is known to answer 200 without rendering each one.
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from playwright.async_api import Browser, ConsoleMessage, Error, Page
from sqlalchemy import select

from app.db.engine import Database
from app.demo.seed import seed_demo
from app.events.models import Event
from app.graph.fake.demo import DEMO_APP_ID, DEMO_WABAS
from app.lib.timeutil import utcnow
from app.meta import service as meta_service
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.settings import Settings
from app.simulator.send import Source
from app.tenancy import queries as tenancy_queries
from app.wabas.models import PhoneNumber, Waba
from tests.support.payloads import body, changes_of, entry
from tests.support.rows import store_delivery

WIDE, PHONE = 1440, 390
HEIGHT = 900
SHOT_HEIGHT = 1400  # screenshots show the top of a long page, to keep them small
ORG = "demo"
# GET links that are not pages to look at: signing out, downloads and streams, flows that leave for
# another site, one-time links.
NOT_PAGES = re.compile(
    r"(/logout$|\.csv$|\.json$|/stream$|/login/sso|/connect/facebook|/confirm/|/invitations/|/password/reset/)"
)
RAW_CODES = re.compile(r"\b(?:TIER_\w*|RESTRICTED_\w*|None)\b")


@dataclass(frozen=True)
class Demo:
    org: str
    wabas: dict[str, int]  # WABA id -> pk
    waba_pk: int  # the first demo WABA, restricted
    phone_pk: int  # a number of that WABA
    restriction_event_pk: int


def _restriction() -> dict[str, object]:
    expires = int((utcnow() + timedelta(days=3)).timestamp())
    return {
        "field": "account_update",
        "value": {
            "event": "ACCOUNT_RESTRICTION",
            "restriction_info": [
                {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": expires},
                {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": expires},
                {"restriction_type": "RESTRICTED_CUSTOMER_INITIATED_MESSAGING", "expiration": expires},
            ],
        },
    }


def _disabled() -> dict[str, object]:
    return {
        "field": "account_update",
        "value": {
            "event": "DISABLED_UPDATE",
            "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "December 1, 2026"},
        },
    }


def _phone(change: dict[str, object], display: str) -> dict[str, object]:
    value = change["value"]
    assert isinstance(value, dict)
    value["display_phone_number"] = display
    return change


def _history() -> dict[str, list[dict[str, object]]]:
    """Changes per demo WABA: the first restricted, the second disabled, the third rejected."""
    lucky, cafe, muller = (waba_id for waba_id, _ in DEMO_WABAS)
    lucky_phone, cafe_phone = "15550101000", "15550111000"
    return {
        lucky: [
            *changes_of("message_template_status_update__approved"),
            *changes_of("message_template_quality_update__green_to_yellow"),
            *changes_of("message_template_status_update__rejected_invalid_format"),
            _phone(changes_of("phone_number_quality_update__throughput_upgrade")[0], lucky_phone),
            _phone(changes_of("phone_number_quality_update__flagged_legacy")[0], lucky_phone),
            _phone(changes_of("phone_number_quality_update__downgrade")[0], lucky_phone),
            _phone(changes_of("phone_number_name_update__approved")[0], lucky_phone),
            _phone(changes_of("security__pin_reset_request")[0], lucky_phone),
            *changes_of("messages__status_failed"),
            _restriction(),
        ],
        cafe: [
            *changes_of("account_review_update__approved"),
            _phone(changes_of("phone_number_quality_update__throughput_upgrade")[0], cafe_phone),
            *changes_of("message_template_status_update__disabled"),
            *changes_of("account_update__account_violation"),
            _disabled(),
        ],
        muller: [
            *changes_of("account_review_update__rejected"),
            *changes_of("business_capability_update__limit_increase"),
            *changes_of("payment_configuration_update__needs_testing"),
        ],
    }


async def seed_demo_with_history(db: Database, settings: Settings, *, sample: int = 40) -> Demo:
    await seed_demo(settings)
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == DEMO_APP_ID))
    assert app is not None
    start = int((utcnow() - timedelta(hours=6)).timestamp())
    n = 0
    for waba_id, changes in _history().items():
        for change in changes:
            n += 1
            await store_delivery(db, app, body(entry(waba_id, [change], time=start + n * 300)))
    source = Source(waba_ids=[waba_id for waba_id, _ in DEMO_WABAS], rng=random.Random(2026))
    for _ in range(sample):
        await store_delivery(db, app, source.next().data)
    await Processor(db).run_until_idle()
    async with db.transaction() as session:  # the org's own app beside the platform's
        org = await tenancy_queries.org_by_slug(session, ORG)
        assert org is not None
        await meta_service.save_app(
            session,
            org_id=org.id,
            app_id="1000000000000099",
            name="Demo Co's own app for its partner inbox",
            app_secret="own-app-secret-for-the-walk",
            verify_token="a-long-verify-token-that-has-no-spaces-0123456789",
        )
    return await _silence_and_find(db)


async def _silence_and_find(db: Database) -> Demo:
    """Makes the third WABA subscribed but silent for two days; finds the pages to show."""
    async with db.transaction() as session:
        wabas = {
            w.waba_id: w
            for w in await session.scalars(select(Waba).where(Waba.waba_id.in_([w for w, _ in DEMO_WABAS])))
        }
        for waba in wabas.values():
            waba.subscribed = True
            waba.subscribed_at = utcnow() - timedelta(days=3)
        quiet = wabas[DEMO_WABAS[2][0]]
        quiet.last_event_at = utcnow() - timedelta(days=2)
        lucky = wabas[DEMO_WABAS[0][0]]
        phone_pk = await session.scalar(
            select(PhoneNumber.id).where(PhoneNumber.waba_pk == lucky.id).order_by(PhoneNumber.id)
        )
        restriction = await session.scalar(
            select(Event.id).where(Event.waba_pk == lucky.id, Event.kind == "account_restriction")
        )
    assert phone_pk is not None
    assert restriction is not None
    return Demo(ORG, {w.waba_id: w.id for w in wabas.values()}, lucky.id, phone_pk, restriction)


@dataclass
class Finding:
    url: str
    width: int
    what: str


@dataclass
class WalkResult:
    pages: list[str] = field(default_factory=list)  # the kinds of page rendered
    links: dict[str, int] = field(default_factory=dict)  # every link found -> its status
    overflow: list[Finding] = field(default_factory=list)
    console: list[Finding] = field(default_factory=list)
    raw_text: list[Finding] = field(default_factory=list)
    menu: list[str] = field(default_factory=list)  # what was wrong with the folded navigation


def kind_of(url: str) -> str:
    """The same page with other ids or other query values is the same kind of page."""
    parts = urlsplit(url)
    keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"/\d+", "/N", parts.path) + ("?" + "&".join(keys) if keys else "")


OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const wide = [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && el.closest('.scroll-x') === null)
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`);
  const boxes = [...document.querySelectorAll('.scroll-x')]
    .filter((box) => box.scrollWidth > box.clientWidth)
    .map((box) => `${box.firstElementChild.tagName.toLowerCase()} ${box.scrollWidth}px in ${box.clientWidth}px`);
  const alone = [...document.querySelectorAll('label > input[type=checkbox], label > input[type=radio]')]
    .filter((box) => box.offsetParent !== null && box.nextSibling !== null)
    .filter((box) => {
      const text = document.createRange();
      text.setStartAfter(box);
      text.setEndAfter(box.parentElement.lastChild);
      const first = [...text.getClientRects()].find((r) => r.width > 0);
      const own = box.getBoundingClientRect();
      return first !== undefined && Math.abs(first.top + first.height / 2 - (own.top + own.height / 2)) > own.height;
    })
    .map((box) => `a ${box.type} is not beside its label: ${box.parentElement.textContent.trim().slice(0, 40)}`);
  return {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, wide, boxes, alone};
}"""
# Two frames: the layout after a resize is painted before anything is measured or shot.
FRAMES_JS = (
    "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(null))))"
)
LINKS_JS = """() => [...document.querySelectorAll('a[href]')]
  .filter((a) => a.closest('header, main') !== null)
  .map((a) => a.href)"""


async def _check(page: Page, url: str, width: int, result: WalkResult) -> None:
    found = await page.evaluate(OVERFLOW_JS)
    if found["scrollWidth"] > found["innerWidth"]:
        result.overflow.append(
            Finding(
                url,
                width,
                f"page is {found['scrollWidth']}px wide in {found['innerWidth']}px: {found['wide']}",
            )
        )
    if width == WIDE and found["boxes"]:  # on a wide window even a table fits without scrolling
        result.overflow.append(Finding(url, width, f"scrolls in its box: {found['boxes']}"))
    if found["alone"]:
        result.overflow.append(Finding(url, width, f"{found['alone']}"))
    text = await page.evaluate("() => document.body.innerText")
    raw = sorted(set(RAW_CODES.findall(text)))
    if raw:
        result.raw_text.append(Finding(url, width, ", ".join(raw)))


async def _check_menu(page: Page, result: WalkResult) -> None:
    """At phone width the navigation is folded behind "Menu", which opens it with Settings and
    Sign out on screen; at full width it is open without the button."""
    toggle = page.get_by_role("button", name="Menu")
    settings = page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings")
    sign_out = page.get_by_role("button", name="Sign out")
    if await toggle.is_visible() or not await settings.is_visible():
        result.menu.append("at 1440 px the navigation should show without a menu button")
    await page.set_viewport_size({"width": PHONE, "height": HEIGHT})
    if await settings.is_visible():
        result.menu.append("at 390 px the navigation should be folded")
    await toggle.click()
    for name, item in (("Settings", settings), ("Sign out", sign_out)):
        box = await item.bounding_box()
        if box is None or box["x"] < 0 or box["x"] + box["width"] > PHONE:
            result.menu.append(f"at 390 px, with the menu open, {name} is not on screen: {box}")
    if await toggle.get_attribute("aria-expanded") != "true":
        result.menu.append("the open menu's button does not say it is expanded")
    await toggle.click()
    await page.set_viewport_size({"width": WIDE, "height": HEIGHT})


async def walk(
    browser: Browser,
    base_url: str,
    *,
    email: str,
    password: str,
    start: str,
    screenshots: dict[str, str] | None = None,
    folder: Path | None = None,
    max_kinds: int = 60,
) -> WalkResult:
    """Signs in as ``email`` and walks from ``start``; ``screenshots`` (name -> path) are written to
    ``folder`` at both widths (PNG, device scale 1)."""
    result = WalkResult()
    context = await browser.new_context(
        base_url=base_url, viewport={"width": WIDE, "height": HEIGHT}, device_scale_factor=1
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    current = {"url": ""}

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            result.console.append(Finding(current["url"], 0, message.text))

    def on_error(error: Error) -> None:
        result.console.append(Finding(current["url"], 0, error.message))

    page.on("console", on_console)
    page.on("pageerror", on_error)
    try:
        await page.goto("/login")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_load_state()
        origin = base_url.rstrip("/")
        await page.goto(start)
        await _check_menu(page, result)
        queue = deque([origin + start])
        seen_kinds: set[str] = set()
        while queue and len(seen_kinds) < max_kinds:
            url = queue.popleft()
            kind = kind_of(url)
            if kind in seen_kinds:
                continue
            seen_kinds.add(kind)
            result.pages.append(kind)
            current["url"] = url
            response = await page.goto(url)
            result.links[url] = response.status if response is not None else 0
            for width in (WIDE, PHONE):
                await page.set_viewport_size({"width": width, "height": HEIGHT})
                await page.evaluate(FRAMES_JS)
                await _check(page, url, width, result)
            await page.set_viewport_size({"width": WIDE, "height": HEIGHT})
            for href in await page.evaluate(LINKS_JS):
                target = href.split("#")[0]
                if not target.startswith(origin + "/") or NOT_PAGES.search(urlsplit(target).path):
                    continue
                if target not in result.links:
                    result.links[target] = -1
                if kind_of(target) not in seen_kinds:
                    queue.append(target)
        for target, status in list(result.links.items()):
            if status == -1:
                answer = await context.request.get(target, max_redirects=0)
                result.links[target] = answer.status
        if screenshots and folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for name, path in screenshots.items():
                current["url"] = path
                await page.goto(path)
                for width in (WIDE, PHONE):
                    await page.set_viewport_size({"width": width, "height": HEIGHT})
                    await page.evaluate(FRAMES_JS)
                    height = await page.evaluate("() => document.documentElement.scrollHeight")
                    await page.screenshot(
                        path=folder / f"{name}-{width}.png",
                        full_page=True,
                        clip={"x": 0, "y": 0, "width": width, "height": min(height, SHOT_HEIGHT)},
                    )
                await page.set_viewport_size({"width": WIDE, "height": HEIGHT})
    finally:
        await context.close()
    return result
