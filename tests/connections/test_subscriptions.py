"""The subscription panel and ``wabawatch waba subscribe|unsubscribe|status`` against the fake Graph
API: every app listed with ours marked, toggles in place, errors and rate limits in words, who and when."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.connections.models import SubscriptionChange
from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.wabas.models import Waba
from tests.factories import Personas, csrf_token, login
from tests.support.cli import run_main
from tests.support.connect import connected
from tests.support.fake_graph import APP_ID, OTHER_APP_ID, WABA_ID, FakeGraph, Seeded

pytestmark = pytest.mark.usefixtures("graph", "our_app")
HTMX = {"HX-Request": "true"}


def page_of(waba: Waba) -> str:
    return f"/o/acme/wabas/{waba.id}/subscription"


async def toggle(client: httpx2.AsyncClient, waba: Waba, action: str, **extra: str) -> httpx2.Response:
    token = await csrf_token(client, page_of(waba))
    return await client.post(
        page_of(waba), data={"action": action, "csrf_token": token, **extra}, headers=HTMX
    )


async def changes(db: Database) -> list[SubscriptionChange]:
    async with db.read() as session:
        return list(await session.scalars(select(SubscriptionChange).order_by(SubscriptionChange.id)))


async def test_the_panel_lists_every_subscribed_app_with_ours_marked(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    fake_graph.state.subscribe(WABA_ID, OTHER_APP_ID, "https://partner.example/hook")
    fake_graph.state.subscribe(WABA_ID, APP_ID)
    waba = await connected(client, db, personas, seeded)
    page = await client.get(page_of(waba))
    assert f'<tr data-app-id="{APP_ID}" class="ours">' in page.text
    assert f'<tr data-app-id="{OTHER_APP_ID}">' in page.text
    assert "https://partner.example/hook" in page.text
    assert "is <strong>subscribed</strong>" in page.text
    assert "Rate limit: 1% of this business" in page.text


async def test_an_admin_subscribes_and_unsubscribes_in_place_and_who_did_it_is_kept(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    response = await toggle(client, waba, "subscribe")
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="subscription-panel"')
    assert "<html" not in response.text
    assert f"Subscribed app {APP_ID} to WABA {WABA_ID}&#39;s webhooks." in response.text
    assert APP_ID in seeded.waba.subscriptions
    response = await toggle(client, waba, "unsubscribe")
    assert f"Unsubscribed app {APP_ID} from WABA {WABA_ID}&#39;s webhooks." in response.text
    assert "is <strong>not subscribed</strong>" in response.text
    assert seeded.waba.subscriptions == {}
    assert [(c.actor, c.action, c.ok, c.user_id) for c in await changes(db)] == [
        (personas.admin.email, "subscribe", True, personas.admin.id),
        (personas.admin.email, "unsubscribe", True, personas.admin.id),
    ]
    assert f"{personas.admin.email} unsubscribed" in response.text
    async with db.read() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-2:] == ["waba.subscribed", "waba.unsubscribed"]


async def test_subscribing_with_an_override_callback_sends_it_to_meta(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    response = await toggle(
        client, waba, "subscribe", override_callback_uri="https://hooks.example/wa", verify_token="v-123"
    )
    assert "with the override callback https://hooks.example/wa" in response.text
    subscription = seeded.waba.subscriptions[APP_ID]
    assert (subscription.override_callback_uri, subscription.verify_token) == (
        "https://hooks.example/wa",
        "v-123",
    )
    refused = await toggle(
        client, waba, "subscribe", override_callback_uri="http://plain.example/wa", verify_token="v"
    )
    assert "must be an https:// URL" in refused.text


async def test_a_rate_limited_toggle_says_when_to_retry_and_is_recorded_as_failed(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    fake_graph.state.fail("rate_limited", method="POST", regain_minutes=12)
    response = await toggle(client, waba, "subscribe")
    assert "Meta is rate-limiting calls: the call limit for WABA" in response.text
    assert "Try again in about 12 minutes" in response.text
    assert "calls held back until" in response.text
    [change] = await changes(db)
    assert not change.ok
    assert "rate-limiting" in (change.error or "")
    # Held back: the next toggle is not even sent.
    calls = len(fake_graph.calls())
    again = await toggle(client, waba, "subscribe")
    assert "Not sent: wabawatch is holding back Graph calls" in again.text
    assert [c for c in fake_graph.calls()[calls:] if c.method == "POST"] == []


async def test_a_viewer_sees_the_state_but_no_toggle_and_may_not_post(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    client.cookies.clear()
    await login(client, personas.viewer)
    page = await client.get(page_of(waba))
    assert page.status_code == 200
    assert 'data-testid="subscription-state"' in page.text
    assert 'data-testid="toggle"' not in page.text
    response = await toggle(client, waba, "subscribe")
    assert response.status_code == 403
    assert seeded.waba.subscriptions == {}


async def test_an_outsider_gets_404_for_the_panel_and_the_toggle(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    client.cookies.clear()
    await login(client, personas.outsider)
    assert (await client.get(page_of(waba))).status_code == 404
    token = await csrf_token(client, "/o/bravo")
    response = await client.post(page_of(waba), data={"action": "subscribe", "csrf_token": token})
    assert response.status_code == 404


async def test_a_subscribed_waba_without_events_for_too_long_is_flagged_silent(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    fake_graph.state.subscribe(WABA_ID, APP_ID)
    waba = await connected(client, db, personas, seeded)
    assert 'data-testid="silent-warning"' not in (await client.get(page_of(waba))).text
    async with db.transaction() as session:
        found = await session.get(Waba, waba.id)
        assert found is not None
        found.connected_at = utcnow() - timedelta(hours=30)
        found.last_event_at = utcnow() - timedelta(hours=26)
    page = await client.get(page_of(waba))
    assert "Verified but silent: subscribed, yet no event has arrived for 26 hours" in page.text


async def test_wabawatch_waba_subscribe_status_unsubscribe(
    database_url: str,
    db: Database,
    personas: Personas,
    fake_graph: FakeGraph,
    seeded: Seeded,
    client: httpx2.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await connected(client, db, personas, seeded)
    fake_graph.state.subscribe(WABA_ID, OTHER_APP_ID)
    env = {"DATABASE_URL": database_url, "GRAPH_API_BASE": fake_graph.url}

    async def run(verb: str) -> tuple[int, str, str]:
        done = await run_main(monkeypatch, capsys, "waba", verb, WABA_ID, "--org", "acme", env=env)
        return done.status, done.stdout, done.stderr

    status, out, _ = await run("subscribe")
    assert status == 0
    assert f"Subscribed app {APP_ID} to WABA {WABA_ID}'s webhooks." in out
    status, out, _ = await run("status")
    assert status == 0
    assert f"WABA {WABA_ID}: our app {APP_ID} is subscribed" in out
    assert f"* {APP_ID} wabawatch test app" in out
    assert f"  {OTHER_APP_ID} Partner Inbox" in out
    assert "rate limit: " in out
    fake_graph.state.fail("expired_token", method="DELETE")
    status, out, err = await run("unsubscribe")
    assert status == 1
    assert f"The access token for WABA {WABA_ID} no longer works (it has expired). Reconnect this WABA" in err
    assert [(c.actor, c.action, c.ok) for c in await changes(db)] == [
        ("command line", "subscribe", True),
        ("command line", "unsubscribe", False),
    ]


async def test_the_command_line_honours_a_hold_back_the_web_process_recorded(
    database_url: str,
    db: Database,
    personas: Personas,
    fake_graph: FakeGraph,
    seeded: Seeded,
    client: httpx2.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    waba = await connected(client, db, personas, seeded)
    fake_graph.state.fail("rate_limited", method="POST", regain_minutes=20)
    await toggle(client, waba, "subscribe")
    calls = len(fake_graph.calls())
    env = {"DATABASE_URL": database_url, "GRAPH_API_BASE": fake_graph.url}
    done = await run_main(monkeypatch, capsys, "waba", "status", WABA_ID, "--org", "acme", env=env)
    assert done.status == 1
    assert "Not sent: wabawatch is holding back Graph calls for WABA" in done.stderr
    assert "held back until" in done.stdout
    assert len(fake_graph.calls()) == calls
