"""Connecting a WABA through an app its business does not own: Meta sends such an app no webhooks.
The pages say so before connecting, let the admin go ahead knowingly, and keep saying so after.
Against the fake Graph API over real HTTP; the pages are read as HTML, without a browser."""

from __future__ import annotations

from html import unescape

import httpx2
import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.connections import sync
from app.db.engine import Database
from app.graph.client import GraphClient
from app.graph.fake.world import DEMO_BUSINESS
from app.wabas.models import Waba
from tests.factories import Personas, csrf_token, login, post_form
from tests.support.cli import run_main
from tests.support.connect import connect_by_form, connect_page, connected, through_the_dialog
from tests.support.fake_graph import APP_ID, OTHER_WABA_ID, WABA_ID, FakeGraph, Seeded
from tests.support.rows import state

pytestmark = pytest.mark.usefixtures("graph", "our_app")
PARTNER = ("1000000000000555", "Partner Agency")
SHARED = (
    f"App {APP_ID} is owned by Partner Agency ({PARTNER[0]}), but WABA {WABA_ID} belongs to Demo Business"
)


def app_owned_by(fake_graph: FakeGraph, business: tuple[str, str] | None) -> None:
    with fake_graph.state.lock:
        app = fake_graph.state.apps[APP_ID]
        app.business_id, app.business_name = business if business else (None, "")


async def all_wabas(db: Database) -> list[Waba]:
    async with db.read() as session:
        return list(await session.scalars(select(Waba)))


async def connect_entries(db: Database) -> list[AuditEntry]:
    async with db.read() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "waba.connected")))


async def test_a_shared_app_is_not_connected_until_the_admin_accepts_the_warning(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    app_owned_by(fake_graph, PARTNER)
    await login(client, personas.admin)
    warned = await connect_by_form(client, personas, seeded.token.value)
    assert warned.status_code == 200
    page = unescape(warned.text)
    assert f"Not connected yet: {SHARED}" in page
    assert "an app that is merely shared with it receives no notifications" in page
    assert 'name="accept_shared_app"' in warned.text
    assert seeded.token.value not in warned.text
    assert await all_wabas(db) == []
    assert await connect_entries(db) == []

    accepted = await post_form(
        client,
        connect_page(personas),
        {"app_id": APP_ID, "waba_id": WABA_ID, "access_token": seeded.token.value, "accept_shared_app": "1"},
        page=connect_page(personas),
    )
    assert accepted.status_code == 303, accepted.text
    [waba] = await all_wabas(db)
    [entry] = await connect_entries(db)
    assert entry.details is not None
    assert entry.details["app_owned_by_waba_business"] is False
    assert entry.details["app_business_id"] == PARTNER[0]
    assert str(entry.details["accepted_warning"]).startswith(SHARED)
    kept = (await state(db, waba))[("waba", "app_owner")].value
    assert kept["app_business_id"] == PARTNER[0]
    assert str(kept["warning"]).startswith(SHARED)

    connection = unescape((await client.get(f"/o/acme/wabas/{waba.id}/subscription")).text)
    assert 'data-testid="ownership-warning"' in connection
    assert SHARED in connection
    for path in ("/o/acme", f"/o/acme/wabas/{waba.id}"):  # the WABA's card, on the overview and its page
        card = unescape((await client.get(path)).text)
        assert SHARED in card, path


async def test_an_app_the_wabas_business_owns_connects_without_a_warning(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    kept = (await state(db, waba))[("waba", "app_owner")].value
    assert (kept["app_business_id"], kept["waba_business_id"], kept["warning"]) == (
        DEMO_BUSINESS[0],
        DEMO_BUSINESS[0],
        None,
    )
    [entry] = await connect_entries(db)
    assert entry.details is not None
    assert entry.details["app_owned_by_waba_business"] is True
    assert "accepted_warning" not in entry.details
    for path in (f"/o/acme/wabas/{waba.id}/subscription", "/o/acme", f"/o/acme/wabas/{waba.id}"):
        assert 'data-testid="ownership-warning"' not in (await client.get(path)).text, path


async def test_an_app_no_business_owns_is_warned_about_too(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    app_owned_by(fake_graph, None)
    await login(client, personas.admin)
    warned = await connect_by_form(client, personas, seeded.token.value)
    assert warned.status_code == 200
    assert f"App {APP_ID} is not owned by any business portfolio" in unescape(warned.text)
    assert await all_wabas(db) == []


async def test_when_graph_will_not_say_who_owns_the_app_the_waba_connects_and_the_page_says_so(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    fake_graph.state.fail("server_error", times=None, path=f"/{APP_ID}", method="GET")
    waba = await connected(client, db, personas, seeded)
    assert ("waba", "app_owner") not in await state(db, waba)
    page = unescape((await client.get(f"/o/acme/wabas/{waba.id}/subscription")).text)
    assert f"Whether app {APP_ID} is owned by the WABA's business could not be checked" in page


async def test_a_sync_compares_the_app_with_the_wabas_owner_again(
    client: httpx2.AsyncClient,
    db: Database,
    personas: Personas,
    fake_graph: FakeGraph,
    seeded: Seeded,
    graph: GraphClient,
) -> None:
    waba = await connected(client, db, personas, seeded)
    with fake_graph.state.lock:
        seeded.waba.owner_business_id, seeded.waba.owner_business_name = PARTNER
    await sync.sync_waba(db, graph, org_id=personas.org.id, waba_pk=waba.id, hooks=[])
    kept = (await state(db, waba))[("waba", "app_owner")].value
    assert str(kept["warning"]).startswith(
        f"App {APP_ID} is owned by Demo Business ({DEMO_BUSINESS[0]}), but WABA {WABA_ID} belongs to Partner Agency"
    )
    assert "ownership-warning" in (await client.get(f"/o/acme/wabas/{waba.id}/subscription")).text

    with fake_graph.state.lock:
        seeded.waba.owner_business_id, seeded.waba.owner_business_name = DEMO_BUSINESS
    await sync.sync_waba(db, graph, org_id=personas.org.id, waba_pk=waba.id, hooks=[])
    assert (await state(db, waba))[("waba", "app_owner")].value["warning"] is None


async def test_the_facebook_pick_page_warns_beside_a_shared_waba_and_leaves_it_unticked(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    with fake_graph.state.lock:
        other = fake_graph.state.wabas[OTHER_WABA_ID]
        other.owner_business_id, other.owner_business_name = PARTNER
    await login(client, personas.admin)
    pick = await through_the_dialog(client, [WABA_ID, OTHER_WABA_ID])
    assert pick.status_code == 200, pick.text
    assert f'<input type="checkbox" name="waba" value="{WABA_ID}" checked>' in pick.text
    assert f'<input type="checkbox" name="waba" value="{OTHER_WABA_ID}">' in pick.text
    text = unescape(pick.text)
    assert f'data-waba-id="{OTHER_WABA_ID}">App {APP_ID} is owned by Demo Business' in text
    assert f"but WABA {OTHER_WABA_ID} belongs to Partner Agency ({PARTNER[0]})" in text
    assert f'data-waba-id="{WABA_ID}"' not in text
    assert f'<input type="hidden" name="warned" value="{OTHER_WABA_ID}">' in pick.text
    assert f'name="warned" value="{WABA_ID}"' not in pick.text

    token = await csrf_token(client, "/o/acme/wabas/connect")
    done = await client.post(
        "/o/acme/wabas/connect/facebook/pick",
        data={"waba": [WABA_ID, OTHER_WABA_ID], "warned": OTHER_WABA_ID, "csrf_token": token},
    )
    assert done.status_code == 303
    assert sorted(w.waba_id for w in await all_wabas(db)) == sorted([WABA_ID, OTHER_WABA_ID])
    home = unescape((await client.get("/o/acme")).text)
    assert "2 WABAs connected through Facebook Login." in home
    assert f"WABA {OTHER_WABA_ID}: App {APP_ID} is owned by Demo Business" in home
    entries = {str(e.target): e.details or {} for e in await connect_entries(db)}
    assert "accepted_warning" in entries[f"WABA {OTHER_WABA_ID}"]
    assert "accepted_warning" not in entries[f"WABA {WABA_ID}"]


async def test_wabawatch_waba_connect_prints_the_warning_and_connects(
    database_url: str,
    db: Database,
    personas: Personas,
    fake_graph: FakeGraph,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app_owned_by(fake_graph, PARTNER)
    env = {"DATABASE_URL": database_url, "GRAPH_API_BASE": fake_graph.url}
    args = ("waba", "connect", WABA_ID, "--org", "acme", "--app", APP_ID)
    done = await run_main(monkeypatch, capsys, *args, env=env, stdin=seeded.token.value + "\n")
    assert done.status == 0, done.stderr
    assert f"connected WABA {WABA_ID}" in done.stdout
    assert f"warning: {SHARED}" in done.stderr
    assert [w.waba_id for w in await all_wabas(db)] == [WABA_ID]

    status = await run_main(monkeypatch, capsys, "waba", "status", WABA_ID, "--org", "acme", env=env)
    assert status.status == 0, status.stderr
    assert f"warning: {SHARED}" in status.stdout


async def test_moving_the_app_to_the_wabas_business_clears_the_warning_at_the_next_refresh(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    app_owned_by(fake_graph, PARTNER)
    await login(client, personas.admin)
    accepted = await post_form(
        client,
        connect_page(personas),
        {"app_id": APP_ID, "waba_id": WABA_ID, "access_token": seeded.token.value, "accept_shared_app": "1"},
        page=connect_page(personas),
    )
    assert accepted.status_code == 303
    [waba] = await all_wabas(db)
    page = f"/o/acme/wabas/{waba.id}/subscription"
    assert 'data-testid="ownership-warning"' in (await client.get(page)).text

    app_owned_by(fake_graph, DEMO_BUSINESS)  # the admin transfers the app in Meta's Business Settings
    refreshed = await post_form(client, f"/o/acme/wabas/{waba.id}/refresh", {}, page=page)
    assert refreshed.status_code == 303
    assert 'data-testid="ownership-warning"' not in (await client.get(page)).text
    assert 'data-testid="ownership-warning"' not in (await client.get("/o/acme")).text
    kept = (await state(db, waba))[("waba", "app_owner")].value
    assert kept["app_business_id"] == DEMO_BUSINESS[0]


async def test_a_warning_the_pick_page_did_not_show_refuses_that_waba(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    await login(client, personas.admin)
    pick = await through_the_dialog(client, [WABA_ID, OTHER_WABA_ID])
    assert 'name="warned"' not in pick.text
    with fake_graph.state.lock:  # the WABA moves to another business before the admin picks it
        other = fake_graph.state.wabas[OTHER_WABA_ID]
        other.owner_business_id, other.owner_business_name = PARTNER
    token = await csrf_token(client, "/o/acme/wabas/connect")
    done = await client.post(
        "/o/acme/wabas/connect/facebook/pick", data={"waba": [WABA_ID, OTHER_WABA_ID], "csrf_token": token}
    )
    assert done.status_code == 303
    assert [w.waba_id for w in await all_wabas(db)] == [WABA_ID]
    home = unescape((await client.get("/o/acme")).text)
    assert f"WABA {OTHER_WABA_ID} was not connected: App {APP_ID} is owned by Demo Business" in home
    assert "Start again to decide." in home
    assert "1 WABA connected through Facebook Login." in home
