"""Every page can be reached from the navigation, which marks where you are and can be skipped."""

from __future__ import annotations

import re

import httpx2

from app.meta.models import MetaApp
from tests.factories import Personas, login


def main_nav(page: str) -> str:
    return page.split('aria-label="Main">', 1)[1].split("</nav>", 1)[0]


async def test_pages_outside_an_org_keep_the_main_navigation(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.viewer)
    for path in ("/account/sessions", "/orgs?switch=1"):
        nav = main_nav((await client.get(path)).text)
        assert 'href="http://testserver/o/acme"' in nav, path
        assert 'href="http://testserver/o/acme/events"' in nav, path


async def test_the_current_page_is_marked_and_a_skip_link_leads_to_the_content(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.owner)
    events = (await client.get("/o/acme/events")).text
    assert re.findall(r'<a href="([^"]+)"[^>]* aria-current="page"', events) == [
        "http://testserver/o/acme/events"
    ]
    overview = (await client.get("/o/acme")).text
    assert re.findall(r'<a href="([^"]+)"[^>]* aria-current="page"', overview) == ["http://testserver/o/acme"]
    assert '<a class="skip-link" href="#main">Skip to content</a>' in events
    assert '<main class="content" id="main"' in events


async def test_retention_and_the_delivery_inspector_are_linked(
    client: httpx2.AsyncClient, personas: Personas, meta_app: MetaApp
) -> None:
    await login(client, personas.admin)
    settings = (await client.get("/o/acme/settings")).text
    assert 'href="http://testserver/o/acme/settings/retention"' in settings
    apps = (await client.get("/o/acme/settings/apps")).text
    assert 'data-testid="inspector-link"' not in apps  # the platform's app is not the org's to inspect
    assert (await client.get("/o/acme/settings/retention")).status_code == 200
