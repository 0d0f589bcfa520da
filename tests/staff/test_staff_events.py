"""The staff timeline of an opened org: the customer's filters (kind, severity, since/until, text,
WABA, phone), a clear 400 for a malformed one, and live rows that link to staff's own pages."""

from __future__ import annotations

import asyncio
import html
import re

import httpx2
import pytest

from app.db.engine import Database
from app.live.hub import hub_for
from app.main import Dispatcher
from app.processing.processor import Processor
from app.worker import after_commit_hooks
from tests.factories import Personas, client_for, login, post_form
from tests.support.live import SSEReader, served
from tests.support.payloads import body, entry, quality_change
from tests.support.rows import store_delivery
from tests.support.staff_world import MULLER_DIGITS, MULLER_WABA_ID, SupportWorld, make_support_world


@pytest.fixture
async def world(db: Database, personas: Personas) -> SupportWorld:
    return await make_support_world(db, personas)


def kinds(page: str) -> list[str]:
    return re.findall(r'<small class="muted" title="[\w_]+ / [\w_]+">([\w_]+)</small>', page)


async def open_muller(staff: httpx2.AsyncClient, personas: Personas) -> None:
    await login(staff, personas.staff)
    await post_form(
        staff, "/staff/orgs/muller/open", {"reason": "ticket SUP-5"}, page="/staff/orgs/muller/open"
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"account_violation", "disabled_update", "status_failed", "approved"}),
        ({"kind": "disabled_update"}, {"disabled_update"}),
        ({"severity": "critical"}, {"disabled_update"}),
        ({"field": "message_template_status_update"}, {"approved"}),
        ({"phone": "+1 (415) 262-7707"}, {"status_failed"}),
        ({"waba": MULLER_WABA_ID, "q": "frühlings"}, {"approved"}),
        ({"since": "2999-01-01T00:00:00Z"}, set()),
        ({"until": "2000-01-01T00:00:00Z"}, set()),
    ],
)
async def test_the_customers_filters_narrow_the_staff_timeline(
    app: Dispatcher, personas: Personas, world: SupportWorld, params: dict[str, str], expected: set[str]
) -> None:
    async with client_for(app) as staff:
        await open_muller(staff, personas)
        page = await staff.get("/staff/orgs/muller/events", params=params)
    assert page.status_code == 200
    assert set(kinds(page.text)) == expected
    for name in ("kind", "severity", "since", "until", "q", "waba", "phone", "field"):
        assert f'name="{name}"' in page.text


async def test_a_malformed_filter_is_a_400_that_says_why(
    app: Dispatcher, personas: Personas, world: SupportWorld
) -> None:
    async with client_for(app) as staff:
        await open_muller(staff, personas)
        page = await staff.get("/staff/orgs/muller/events", params={"since": "last tuesday"})
    assert page.status_code == 400
    assert 'data-testid="filter-error"' in page.text
    assert "since" in page.text


async def test_new_events_arrive_live_and_link_to_staff_pages(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    async with served(app) as base, httpx2.AsyncClient(base_url=base, timeout=10) as staff:
        await open_muller(staff, personas)
        page = await staff.get("/staff/orgs/muller/events", params={"severity": "warning"})
        [url] = re.findall(r'hx-sse:connect="([^"]+)"', page.text)
        hub = hub_for(db)
        before = hub.subscriber_count(world.muller.id)
        async with staff.stream("GET", html.unescape(url)) as response:
            assert response.status_code == 200
            while hub.subscriber_count(world.muller.id) == before:
                await asyncio.sleep(0.01)
            reader = SSEReader(response)
            try:
                await asyncio.wait_for(reader.live.wait(), 5)
                downgrade = body(
                    entry(MULLER_WABA_ID, [quality_change("DOWNGRADE", "TIER_1K", MULLER_DIGITS)])
                )
                await store_delivery(db, world.muller_app, downgrade)
                await Processor(db, hooks=after_commit_hooks(db)).run_until_idle()
                [row] = await reader.rows(1)
            finally:
                await reader.close()
    assert f'href="/staff/orgs/muller/events/{row.id}"' in row.data
    assert "Acknowledge" not in row.data
