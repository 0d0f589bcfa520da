"""Syncing a connected WABA from the fake Graph API: refresh, the worker's periodic pass, and the
events that say a value changed without a webhook."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest
from sqlalchemy import select

from app.connections.sync import DRIFT_KIND, PeriodicSync
from app.db.engine import Database
from app.events.models import Event
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.settings import Settings
from app.wabas.models import PhoneNumber, Waba
from tests.factories import Personas, settings_with
from tests.support.connect import connected
from tests.support.fake_graph import FakeGraph, Seeded
from tests.support.payloads import body, entry, quality_change
from tests.support.rows import state, store_delivery

pytestmark = pytest.mark.usefixtures("graph", "our_app")


async def drift_events(db: Database) -> list[Event]:
    async with db.read() as session:
        return list(await session.scalars(select(Event).where(Event.kind == DRIFT_KIND).order_by(Event.id)))


async def reload(db: Database, waba: Waba) -> Waba:
    async with db.read() as session:
        found = await session.get(Waba, waba.id)
        assert found is not None
        return found


async def refresh(client: httpx2.AsyncClient, waba: Waba) -> httpx2.Response:
    page = f"/o/acme/wabas/{waba.id}/subscription"
    from tests.factories import post_form

    response = await post_form(client, f"/o/acme/wabas/{waba.id}/refresh", {}, page=page)
    assert response.status_code == 303
    return await client.get(page)


async def test_a_tier_that_changed_without_a_webhook_is_recorded_once(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    assert await drift_events(db) == []
    seeded.waba.phones[0].messaging_limit_tier = "TIER_10K"
    page = await refresh(client, waba)
    assert "Synced from Meta: 2 phone numbers; 1 changed without a webhook." in page.text
    [event] = await drift_events(db)
    assert event.org_id == personas.org.id
    assert event.change_id is None
    assert event.phone == "16315551000"
    assert "Messaging limit of +1 631-555-1000 changed without a webhook: TIER_1K → TIER_10K" in event.summary
    await refresh(client, waba)
    assert len(await drift_events(db)) == 1
    async with db.read() as session:
        tiers = list(await session.scalars(select(PhoneNumber.messaging_limit_tier).order_by(PhoneNumber.id)))
    assert tiers == ["TIER_10K", "TIER_1K"]
    timeline = await client.get("/o/acme/events")
    assert "changed without a webhook" in timeline.text


async def test_a_polled_value_that_contradicts_the_webhooks_is_recorded_and_becomes_the_state(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded, our_app: MetaApp
) -> None:
    waba = await connected(client, db, personas, seeded)
    change = quality_change("UPGRADE", "TIER_10K", display="16315551000")
    await store_delivery(db, our_app, body(entry(waba.waba_id, [change])))
    await Processor(db, hooks=[]).run_until_idle()
    await refresh(client, waba)  # Graph still says TIER_1K
    [event] = await drift_events(db)
    assert event.details["known_from"] == "the webhooks"
    assert (event.details["known"], event.details["polled"]) == ("TIER_10K", "TIER_1K")
    entries = {(s, k): e for (s, k), e in (await state(db, waba)).items()}
    [limit] = [e for (s, k), e in entries.items() if k == "messaging_limit"]
    assert limit.value["tier"] == "TIER_1K"
    assert limit.event_id == event.id


async def test_a_failed_refresh_says_why_and_keeps_it_on_the_page(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    fake_graph.state.fail("expired_token", path="/phone_numbers")
    page = await refresh(client, waba)
    assert f"The access token for WABA {waba.waba_id} no longer works (it has expired)" in page.text
    assert 'data-testid="sync-error"' in page.text
    assert "Reconnect this WABA" in (await reload(db, waba)).sync_error  # type: ignore[operator]


async def test_the_worker_pass_syncs_connected_wabas_that_are_due_and_skips_failures(
    client: httpx2.AsyncClient,
    db: Database,
    personas: Personas,
    settings: Settings,
    fake_graph: FakeGraph,
    seeded: Seeded,
) -> None:
    waba = await connected(client, db, personas, seeded)
    periodic = PeriodicSync(
        db, settings_with(settings, graph_api_base=fake_graph.url), every=timedelta(0), hooks=[]
    )
    seeded.waba.account_review_status = "REJECTED"
    assert await periodic.run() == 1
    [event] = await drift_events(db)
    assert "Account review changed without a webhook: APPROVED → REJECTED" in event.summary
    assert (await reload(db, waba)).account_review_status == "REJECTED"

    hourly = PeriodicSync(
        db, settings_with(settings, graph_api_base=fake_graph.url), check_every=timedelta(0), hooks=[]
    )
    assert await hourly.run() == 0  # synced just now: not due for an hour

    fake_graph.state.fail("server_error", times=None)
    failing = PeriodicSync(
        db,
        settings_with(settings, graph_api_base=fake_graph.url),
        every=timedelta(0),
        hooks=[],
        check_every=timedelta(0),
    )
    failing.every = timedelta(0)
    assert await failing.run() == 1
    assert "Meta's Graph API failed (HTTP 500" in ((await reload(db, waba)).sync_error or "")


async def test_a_disconnected_waba_is_not_synced(
    client: httpx2.AsyncClient,
    db: Database,
    personas: Personas,
    settings: Settings,
    fake_graph: FakeGraph,
    seeded: Seeded,
) -> None:
    waba = await connected(client, db, personas, seeded)
    from tests.factories import post_form

    page = f"/o/acme/wabas/{waba.id}/subscription"
    response = await post_form(client, f"/o/acme/wabas/{waba.id}/disconnect", {}, page=page)
    assert response.status_code == 303
    after = await reload(db, waba)
    assert after.access_token is None
    assert after.disconnected_at is not None
    periodic = PeriodicSync(
        db, settings_with(settings, graph_api_base=fake_graph.url), every=timedelta(0), hooks=[]
    )
    calls = len(fake_graph.calls())
    assert await periodic.run() == 0
    assert len(fake_graph.calls()) == calls


async def test_a_drift_event_reaches_the_orgs_live_subscribers(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded
) -> None:
    from app.live.hub import Published, hub_for

    waba = await connected(client, db, personas, seeded)
    seeded.waba.phones[1].quality_rating = "RED"
    async with hub_for(db).subscribe(personas.org.id) as live:
        await refresh(client, waba)
        [event] = await drift_events(db)
        notice = await live.next(5)
        while notice is not None and not isinstance(notice, Published):
            notice = await live.next(5)
    assert notice == Published(personas.org.id, (event.id,))
    assert "Quality rating of +1 631-555-1001 changed without a webhook: GREEN → RED" in event.summary


def test_the_worker_runs_the_periodic_sync_when_it_has_settings(db: Database, settings: Settings) -> None:
    from app.worker import build_worker

    assert "wabas.sync" in [p.name for p in build_worker(db, settings=settings).passes]
    assert "wabas.sync" not in [p.name for p in build_worker(db).passes]
