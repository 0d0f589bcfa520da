"""Every page reachable from the navigation, for an owner, an admin and a viewer of the demo org
with a real history, at 1440 and 390 px: no console error, nothing wider than the window (tables
scroll in their own box, the navigation folds), no Meta code or Python value in the visible copy,
and every link answers 200. Screenshots of the main pages at both widths go to docs/screenshots/
(named in the README) so that a reviewer can look without running the app.

The walk runs once for the module; each test asserts one of its findings.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from app.db.engine import Database
from app.demo.seed import DEMO_PASSWORD
from app.settings import Settings
from tests.support.live_server import ROOT, LiveServer
from tests.support.walk import WalkResult, seed_demo_with_history, walk

SCREENSHOTS = ROOT / "docs" / "screenshots"
ROLES = ("owner", "admin", "viewer")


@pytest.fixture(scope="module")
async def walked(
    chromium: Browser, live_server: LiveServer, db: Database, settings: Settings
) -> dict[str, WalkResult]:
    demo = await seed_demo_with_history(db, settings)
    org = f"/o/{demo.org}"
    lucky = demo.waba_pk
    shots = {
        "overview": org,
        "timeline": f"{org}/events",
        "event": f"{org}/events/{demo.restriction_event_pk}",
        "waba": f"{org}/wabas/{lucky}",
        "phone": f"{org}/wabas/{lucky}/phones/{demo.phone_pk}",
        "alerts": f"{org}/alerts",
    }
    results = {}
    for role in ROLES:
        results[role] = await walk(
            chromium,
            live_server.url,
            email=f"{role}@demo.example",
            password=DEMO_PASSWORD,
            start=org,
            screenshots=shots if role == "owner" else None,
            folder=SCREENSHOTS if role == "owner" else None,
        )
    return results


def report(found: list[object]) -> str:
    return "\n".join(str(f) for f in found)


@pytest.mark.parametrize("role", ROLES)
def test_the_walk_reaches_the_pages_of_the_navigation(walked: dict[str, WalkResult], role: str) -> None:
    pages = walked[role].pages
    for expected in (
        "/o/demo",
        "/o/demo/events",
        "/o/demo/events/N",
        "/o/demo/wabas/N",
        "/o/demo/wabas/N/phones/N",
    ):
        assert expected in pages, pages
    if role != "viewer":
        assert "/o/demo/alerts" in pages
        assert "/o/demo/settings/apps" in pages


@pytest.mark.parametrize("role", ROLES)
def test_every_link_answers_200(walked: dict[str, WalkResult], role: str) -> None:
    failing = {url: status for url, status in walked[role].links.items() if status != 200}
    assert not failing


@pytest.mark.parametrize("role", ROLES)
def test_no_console_error(walked: dict[str, WalkResult], role: str) -> None:
    assert not walked[role].console, report(walked[role].console)


@pytest.mark.parametrize("role", ROLES)
def test_no_page_is_wider_than_the_window(walked: dict[str, WalkResult], role: str) -> None:
    assert not walked[role].overflow, report(walked[role].overflow)


@pytest.mark.parametrize("role", ROLES)
def test_the_navigation_folds_behind_a_menu_on_a_phone(walked: dict[str, WalkResult], role: str) -> None:
    assert not walked[role].menu


@pytest.mark.parametrize("role", ROLES)
def test_no_meta_code_or_python_value_in_the_visible_copy(walked: dict[str, WalkResult], role: str) -> None:
    assert not walked[role].raw_text, report(walked[role].raw_text)


def test_the_screenshots_are_written_for_the_readme(walked: dict[str, WalkResult]) -> None:
    names = sorted(p.name for p in SCREENSHOTS.glob("*.png"))
    expected = sorted(
        f"{page}-{width}.png"
        for page in ("overview", "timeline", "event", "waba", "phone", "alerts")
        for width in (1440, 390)
    )
    assert names == expected
    readme = (ROOT / "README.md").read_text()
    assert "docs/screenshots/" in readme
