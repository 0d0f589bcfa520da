"""Connecting a WABA by pasting a system-user token: the page and ``wabawatch waba connect``,
against the fake Graph API over real HTTP."""

from __future__ import annotations

import httpx2
import pytest
from sqlalchemy import select, text

from app.db.engine import Database
from app.graph.client import GraphClient
from app.meta.models import MetaApp
from app.wabas.models import PhoneNumber, Waba
from app.webhooks.models import ChangeStatus
from tests.factories import Personas, login
from tests.support.cli import run_main
from tests.support.connect import connect_by_form, connect_page, connected
from tests.support.fake_graph import APP_ID, OTHER_WABA_ID, WABA_ID, FakeGraph, Seeded
from tests.support.payloads import fixture
from tests.support.rows import all_changes, store_delivery

pytestmark = pytest.mark.usefixtures("graph", "our_app")


async def wabas(db: Database) -> list[Waba]:
    async with db.read() as session:
        return list(await session.scalars(select(Waba)))


async def test_admin_connects_a_waba_with_a_pasted_token(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    assert waba.org_id == personas.org.id
    assert waba.name == "Lucky Shrub (US)"
    assert waba.access_token == seeded.token.value
    assert (waba.account_review_status, waba.health_status, waba.currency) == ("APPROVED", "AVAILABLE", "USD")
    assert waba.owner_business_name == "Demo Business"
    assert "whatsapp_business_management" in (waba.token_scopes or [])
    async with db.read() as session:
        stored = await session.scalar(text("SELECT access_token FROM wabas"))
        phones = list(await session.scalars(select(PhoneNumber).order_by(PhoneNumber.phone_number_id)))
    assert stored.startswith("gAAAA")
    assert seeded.token.value not in stored
    assert [
        (p.phone_number_id, p.digits, p.name_status, p.quality_rating, p.messaging_limit_tier) for p in phones
    ] == [
        ("106580000000000", "16315551000", "APPROVED", "GREEN", "TIER_1K"),
        ("106580000000001", "16315551001", "APPROVED", "GREEN", "TIER_1K"),
    ]
    page = await client.get(f"/o/acme/wabas/{waba.id}/subscription")
    assert page.status_code == 200
    assert "is connected: 2 phone numbers synced" in page.text
    assert seeded.token.value not in page.text


@pytest.mark.parametrize(
    ("token_options", "waba_id", "message"),
    [
        ({"scopes": ("business_management",)}, WABA_ID, "lacks the whatsapp_business_management permission"),
        ({}, OTHER_WABA_ID, f"has no access to WABA {OTHER_WABA_ID}"),
        ({"expires_at": 1_000_000}, WABA_ID, "The access token is not valid (Session has expired.)"),
        ({"app_id": "1000000000000099"}, WABA_ID, f"not to app {APP_ID}"),
    ],
)
async def test_a_token_that_cannot_manage_the_waba_is_refused_in_words_and_not_stored(
    client: httpx2.AsyncClient,
    db: Database,
    personas: Personas,
    fake_graph: FakeGraph,
    seeded: Seeded,
    token_options: dict[str, object],
    waba_id: str,
    message: str,
) -> None:
    token = fake_graph.state.add_token(
        token_options.pop("app_id", APP_ID), waba_ids=(WABA_ID,), **token_options
    )  # type: ignore[arg-type]
    await login(client, personas.admin)
    response = await connect_by_form(client, personas, token.value, waba_id=waba_id)
    assert response.status_code == 400
    assert message in response.text
    assert token.value not in response.text
    assert await wabas(db) == []


async def test_a_graph_failure_while_reading_the_waba_says_what_happened(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    fake_graph.state.fail("server_error", times=None, path="/phone_numbers")
    await login(client, personas.admin)
    response = await connect_by_form(client, personas, seeded.token.value)
    assert response.status_code == 400
    assert (
        f"Could not list the phone numbers of WABA {WABA_ID}: Meta&#39;s Graph API failed (HTTP 500, 3 attempts)"
        in response.text
    )
    assert await wabas(db) == []


async def test_an_app_of_another_org_cannot_be_used(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded, our_app: MetaApp
) -> None:
    async with db.transaction() as session:
        app = await session.get(MetaApp, our_app.id)
        assert app is not None
        app.org_id = personas.org_other.id
    await login(client, personas.admin)
    response = await connect_by_form(client, personas, seeded.token.value)
    assert response.status_code == 400
    assert "Choose one of the Meta apps listed" in response.text


async def test_a_viewer_may_not_connect_and_an_outsider_gets_404(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.viewer)
    assert (await client.get(connect_page(personas))).status_code == 403
    client.cookies.clear()
    await login(client, personas.outsider)
    assert (await client.get(connect_page(personas))).status_code == 404


async def test_connecting_routes_the_wabas_earlier_notifications_to_the_org(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded, our_app: MetaApp
) -> None:
    from app.processing.processor import Processor

    await store_delivery(db, our_app, fixture("account_review_update__approved"))
    await Processor(db, hooks=[]).run_until_idle()
    assert {c.status for c in await all_changes(db)} == {ChangeStatus.UNROUTED}
    await connected(client, db, personas, seeded)
    changes = await all_changes(db)
    assert {(c.status, c.org_id) for c in changes} == {(ChangeStatus.PENDING, personas.org.id)}


async def test_wabawatch_waba_connect_takes_the_token_on_stdin(
    database_url: str,
    db: Database,
    personas: Personas,
    fake_graph: FakeGraph,
    seeded: Seeded,
    graph: GraphClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"DATABASE_URL": database_url, "GRAPH_API_BASE": fake_graph.url}
    args = ("waba", "connect", WABA_ID, "--org", "acme", "--app", APP_ID)
    done = await run_main(monkeypatch, capsys, *args, env=env, stdin=seeded.token.value + "\n")
    assert done.status == 0, done.stderr
    assert f"connected WABA {WABA_ID} (Lucky Shrub (US)) for acme" in done.stdout
    assert "2 phone numbers synced" in done.stdout
    assert seeded.token.value not in done.stdout + done.stderr
    assert [w.access_token for w in await wabas(db)] == [seeded.token.value]

    refused = await run_main(
        monkeypatch, capsys, *args[:2], OTHER_WABA_ID, *args[3:], env=env, stdin=seeded.token.value + "\n"
    )
    assert refused.status == 1
    assert f"has no access to WABA {OTHER_WABA_ID}" in refused.stderr


async def test_the_overview_and_the_waba_page_lead_to_connecting_and_to_the_connection(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded
) -> None:
    waba = await connected(client, db, personas, seeded)
    home = await client.get("/o/acme")
    assert '/o/acme/wabas/connect" data-testid="connect-link"' in home.text
    detail = await client.get(f"/o/acme/wabas/{waba.id}")
    assert f'/o/acme/wabas/{waba.id}/subscription" data-testid="connection-link"' in detail.text


async def test_a_waba_another_org_connected_through_the_same_app_is_refused(
    client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded, our_app: MetaApp
) -> None:
    from tests.support.rows import register

    await register(db, personas.org_other, our_app, waba_id=WABA_ID)
    await login(client, personas.admin)
    response = await connect_by_form(client, personas, seeded.token.value)
    assert response.status_code == 400
    assert (
        f"WABA {WABA_ID} is already connected by another organization through app {APP_ID}." in response.text
    )
    assert "Acme Messaging" in response.text
