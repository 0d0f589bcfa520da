"""An opened org reads as its customer reads it: their overview cards, what needs a human in words
(which WABA, since when, why, what to do), the "verified but silent" diagnosis, the alert delivery
log, an event's raw change and the alerts it caused, and a delivery's raw body."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx2
import pytest
from sqlalchemy import select, update

from app.audit.models import AuditEntry
from app.db.engine import Database
from app.events.models import Event
from app.lib.timeutil import utcnow
from app.main import Dispatcher
from app.wabas.models import Waba
from tests.factories import Personas, client_for, login, post_form
from tests.support.staff_world import (
    BAN_DAY,
    MULLER_APP_ID,
    MULLER_WABA_ID,
    WAMID,
    SupportWorld,
    failed_alert,
    make_support_world,
)

PYTHON_VALUES = ("None", "True", "False", "{'", "[{", "phone:", "'type'")


@pytest.fixture
async def world(db: Database, personas: Personas) -> SupportWorld:
    return await make_support_world(db, personas)


@asynccontextmanager
async def opened(
    app: Dispatcher, personas: Personas, slug: str = "muller"
) -> AsyncIterator[httpx2.AsyncClient]:
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        page = f"/staff/orgs/{slug}/open"
        answer = await post_form(staff, page, {"reason": "ticket SUP-77"}, page=page)
        assert answer.status_code == 303
        yield staff


def visible(html: str) -> str:
    """The page's text without tags, attributes or scripts."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_overview_says_which_waba_is_disabled_since_when_why_and_what_to_do(
    app: Dispatcher, personas: Personas, world: SupportWorld
) -> None:
    async with opened(app, personas) as staff:
        page = await staff.get("/staff/orgs/muller")
    assert page.status_code == 200
    text = visible(page.text)
    assert (
        f"WABA Björk Outdoor ({MULLER_WABA_ID}) disabled since {BAN_DAY}, "
        "because of a policy violation: adult content." in text
    )
    assert "What to do: If disabled or scheduled, read the reason in Business Support Home" in text
    # The customer's own cards follow, and nothing reads like Python.
    assert page.text.index('data-testid="attention"') < page.text.index('data-testid="waba-card"')
    for python in PYTHON_VALUES:
        assert python not in text, python
    # The cards' links stay inside /staff.
    hrefs = re.findall(r'href="(?:http://testserver)?([^"]+)"', page.text.split('data-testid="overview"')[1])
    assert hrefs
    assert [h for h in hrefs if not h.startswith("/staff/")] == []


async def test_a_subscribed_waba_without_events_is_diagnosed_as_verified_but_silent(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    async with opened(app, personas) as staff:
        assert "verified but silent" not in (await staff.get("/staff/orgs/muller")).text
        async with db.transaction() as session:
            await session.execute(
                update(Waba)
                .where(Waba.id == world.muller_waba.id)
                .values(
                    subscribed=True,
                    connected_at=utcnow() - timedelta(hours=40),
                    last_event_at=utcnow() - timedelta(hours=30),
                )
            )
        text = visible((await staff.get("/staff/orgs/muller")).text)
    assert (
        f"WABA Björk Outdoor ({MULLER_WABA_ID}) is verified but silent: subscribed, yet no event has arrived for 30 hours"
        in text
    )
    assert "callback URL" in text


async def test_staff_read_the_alert_delivery_log_the_customer_has(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    row = await failed_alert(db, world)
    async with opened(app, personas) as staff:
        page = await staff.get("/staff/orgs/muller/alerts")
    assert page.status_code == 200
    assert f'data-delivery="{row.id}" data-status="failed"' in page.text
    assert "ops@muller.example" in page.text
    assert "550 5.1.1 mailbox unavailable" in page.text
    async with db.read() as session:
        views = list(
            await session.scalars(select(AuditEntry.target).where(AuditEntry.action == "staff.viewed"))
        )
    assert views == ["alert deliveries"]


async def test_an_event_shows_its_raw_change_its_delivery_and_the_alerts_it_caused(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    row = await failed_alert(db, world)
    async with opened(app, personas) as staff:
        page = await staff.get(f"/staff/orgs/muller/events/{row.event_id}")
        assert page.status_code == 200
        assert 'data-testid="raw-change"' in page.text
        assert (
            "&#34;waba_ban_state&#34;: &#34;DISABLE&#34;" in page.text
            or '"waba_ban_state": "DISABLE"' in page.text
        )
        caused = re.findall(r'data-testid="caused-delivery" data-status="(\w+)"', page.text)
        assert caused == ["failed"]
        assert "550 5.1.1 mailbox unavailable" in page.text
        raw_url = re.search(r'href="(?:http://testserver)?([^"]+)" data-testid="delivery-link"', page.text)
        assert raw_url is not None
        assert raw_url.group(1).startswith(f"/staff/apps/{MULLER_APP_ID}/deliveries/")
        raw = await staff.get(raw_url.group(1))
    assert raw.status_code == 200
    assert WAMID in raw.text  # the whole body as Meta sent it, every change of it
    assert 'data-testid="raw-body"' in raw.text


async def test_a_private_fields_raw_change_stays_hidden_as_on_the_customers_page(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    async with db.read() as session:
        event_pk = await session.scalar(select(Event.id).where(Event.field == "messages"))
    async with opened(app, personas) as staff:
        page = await staff.get(f"/staff/orgs/muller/events/{event_pk}")
    assert 'data-testid="raw-change"' not in page.text
    assert "carry people" in page.text


async def test_the_raw_body_of_another_apps_delivery_is_404_and_needs_the_orgs_reason(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        closed = await staff.get(f"/staff/apps/{MULLER_APP_ID}/deliveries/1")
        assert closed.status_code == 303
        assert "/staff/orgs/muller/open" in closed.headers["location"]
    async with opened(app, personas) as staff:
        assert (await staff.get(f"/staff/apps/{MULLER_APP_ID}/deliveries/999999")).status_code == 404
