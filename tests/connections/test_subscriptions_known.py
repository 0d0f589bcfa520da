"""The connection page shows the subscribed apps as Meta last listed them, without a Graph call per
view: connect, "Refresh from Meta", the hourly sync and a toggle read them; against the fake Graph API."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest
from sqlalchemy import select

from app.connections.sync import PeriodicSync
from app.db.engine import Database
from app.settings import Settings
from app.wabas.models import StateEntry, Waba
from tests.factories import Personas, post_form, settings_with
from tests.support.connect import connected
from tests.support.fake_graph import APP_ID, OTHER_APP_ID, VERSION, WABA_ID, FakeGraph, Seeded

pytestmark = pytest.mark.usefixtures("graph", "our_app")
SUBSCRIBED_APPS = f"/{VERSION}/{WABA_ID}/subscribed_apps"


def page_of(waba: Waba) -> str:
    return f"/o/acme/wabas/{waba.id}/subscription"


def lists(fake_graph: FakeGraph, since: int) -> int:
    """How many times the apps were listed at Meta since call number ``since``."""
    return sum(1 for c in fake_graph.calls()[since:] if c.method == "GET" and c.path == SUBSCRIBED_APPS)


async def test_viewing_the_page_spends_no_graph_call(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    fake_graph.state.subscribe(WABA_ID, OTHER_APP_ID)
    waba = await connected(client, db, personas, seeded)
    before = len(fake_graph.calls())
    for _ in range(3):
        page = await client.get(page_of(waba))
        assert f'<tr data-app-id="{OTHER_APP_ID}">' in page.text
        assert 'data-testid="subscription-checked">As Meta said at' in page.text
    assert fake_graph.calls()[before:] == []


async def test_a_change_at_meta_shows_after_refresh_from_meta(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    fake_graph.state.subscribe(WABA_ID, OTHER_APP_ID, "https://partner.example/hook")
    assert f'data-app-id="{OTHER_APP_ID}"' not in (await client.get(page_of(waba))).text
    response = await post_form(client, f"/o/acme/wabas/{waba.id}/refresh", {}, page=page_of(waba))
    assert response.status_code == 303
    page = await client.get(page_of(waba))
    assert f'<tr data-app-id="{OTHER_APP_ID}">' in page.text
    assert "https://partner.example/hook" in page.text
    assert "is <strong>not subscribed</strong>" in page.text


async def test_the_hourly_sync_keeps_the_list_fresh(
    client: httpx2.AsyncClient,
    db: Database,
    personas: Personas,
    settings: Settings,
    fake_graph: FakeGraph,
    seeded: Seeded,
) -> None:
    waba = await connected(client, db, personas, seeded)
    fake_graph.state.subscribe(WABA_ID, APP_ID)  # subscribed at Meta, outside wabawatch
    periodic = PeriodicSync(
        db, settings_with(settings, graph_api_base=fake_graph.url), every=timedelta(0), hooks=[]
    )
    assert await periodic.run() == 1
    page = await client.get(page_of(waba))
    assert f'<tr data-app-id="{APP_ID}" class="ours">' in page.text
    assert "is <strong>subscribed</strong>" in page.text
    async with db.read() as session:
        found = await session.get(Waba, waba.id)
    assert found is not None
    assert found.subscribed is True


async def test_a_failed_listing_during_a_sync_keeps_the_last_known_list(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    fake_graph.state.subscribe(WABA_ID, OTHER_APP_ID)
    waba = await connected(client, db, personas, seeded)
    fake_graph.state.fail("server_error", times=None, path="/subscribed_apps")
    response = await post_form(client, f"/o/acme/wabas/{waba.id}/refresh", {}, page=page_of(waba))
    assert response.status_code == 303
    page = await client.get(page_of(waba))
    assert "Synced from Meta: 2 phone numbers." in page.text
    assert f'<tr data-app-id="{OTHER_APP_ID}">' in page.text


async def test_a_waba_whose_apps_were_never_listed_is_read_once(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    fake_graph.state.subscribe(WABA_ID, OTHER_APP_ID)
    waba = await connected(client, db, personas, seeded)
    async with db.transaction() as session:  # as a WABA connected before the list was kept
        entry = await session.scalar(
            select(StateEntry).where(StateEntry.waba_pk == waba.id, StateEntry.key == "subscription")
        )
        assert entry is not None
        entry.value = {"subscribed": False}
    before = len(fake_graph.calls())
    first = await client.get(page_of(waba))
    assert f'<tr data-app-id="{OTHER_APP_ID}">' in first.text
    assert lists(fake_graph, before) == 1
    await client.get(page_of(waba))
    assert lists(fake_graph, before) == 1
