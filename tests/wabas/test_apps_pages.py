"""/o/{org}/settings/apps: admins add and replace apps; the secret is never shown again."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import httpx2
from sqlalchemy import select

from app.db.engine import Database
from app.meta.models import MetaApp
from app.processing.processor import Processor
from tests.factories import Personas, create_meta_app, login, post_form
from tests.support.meta_app import sign
from tests.support.payloads import WABA_ID, fixture
from tests.support.rows import register, store_delivery

PAGE = "/o/acme/settings/apps"
SECRET = "00112233445566778899aabbccddeeff"


async def add_app(client: httpx2.AsyncClient, **fields: str) -> httpx2.Response:
    data = {"app_id": "4455667788", "name": "Acme app", "app_secret": SECRET, "verify_token": "acme-token"}
    return await post_form(client, PAGE, {**data, **fields}, page=PAGE)


async def test_settings_page_links_to_the_apps_page(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.viewer)
    page = await client.get("/o/acme/settings")
    assert f'href="http://testserver{PAGE}"' in page.text or f'href="{PAGE}"' in page.text


async def test_admin_adds_an_app_and_sees_callback_url_and_token_but_never_the_secret(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    response = await add_app(client)
    assert response.status_code == 303
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "http://testserver/webhooks/whatsapp/4455667788" in page.text
    assert "acme-token" in page.text
    assert "Acme app" in page.text
    assert SECRET not in page.text
    assert "never" in page.text  # no handshake yet
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "4455667788"))
    assert app is not None
    assert app.org_id == personas.org.id
    assert app.app_secret == SECRET


async def test_a_rejected_form_does_not_echo_the_secret(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.owner)
    response = await add_app(client, app_id="not-a-number")
    assert response.status_code == 400
    assert "digits only" in response.text
    assert SECRET not in response.text
    assert "acme-token" in response.text  # the rest of the form is kept


async def test_an_app_id_registered_elsewhere_is_refused_clearly(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await create_meta_app(db, org_id=personas.org_other.id, app_id="4455667788")
    await login(client, personas.admin)
    response = await add_app(client)
    assert response.status_code == 400
    assert "already registered on wabawatch by someone else" in response.text
    assert "Bravo" not in response.text
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "4455667788"))
    assert app is not None
    assert app.org_id == personas.org_other.id


async def test_replacing_the_secret_takes_effect_at_once_for_the_receiver(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await create_meta_app(db, org_id=personas.org.id, app_id="4455667788", secret="old-secret")
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    url = "/webhooks/whatsapp/4455667788"
    assert (
        await client.post(url, content=body, headers={"X-Hub-Signature-256": sign(body, "old-secret")})
    ).status_code == 200
    await login(client, personas.admin)
    assert (await add_app(client, name="", verify_token="")).status_code == 303
    body2 = b'{"object":"whatsapp_business_account","entry":[{}]}'
    old = await client.post(url, content=body2, headers={"X-Hub-Signature-256": sign(body2, "old-secret")})
    assert old.status_code == 401
    new = await client.post(url, content=body2, headers={"X-Hub-Signature-256": sign(body2, SECRET)})
    assert new.status_code == 200
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "4455667788"))
    assert app is not None
    assert app.name == "Test app"  # an empty name keeps the stored one
    assert app.verify_token == "verify-me-please"


async def test_new_app_without_a_verify_token_gets_a_random_one(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    assert (await add_app(client, verify_token="")).status_code == 303
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "4455667788"))
    assert app is not None
    assert len(app.verify_token) >= 24
    assert app.verify_token in (await client.get(PAGE)).text


async def test_viewer_sees_the_list_without_forms_or_token(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await create_meta_app(db, org_id=personas.org.id, app_id="4455667788")
    await login(client, personas.viewer)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "/webhooks/whatsapp/4455667788" in page.text
    assert '<form method="post" action="http://testserver/o/acme/settings/apps"' not in page.text
    assert 'name="app_secret"' not in page.text
    assert "verify-me-please" not in page.text


async def test_viewer_cannot_post_an_app(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.viewer)
    response = await add_app(client)
    assert response.status_code == 403
    async with db.read() as session:
        assert await session.scalar(select(MetaApp)) is None


async def test_outsider_gets_404(client: httpx2.AsyncClient, db: Database, personas: Personas) -> None:
    await create_meta_app(db, org_id=personas.org.id, app_id="4455667788")
    await login(client, personas.outsider)
    assert (await client.get(PAGE)).status_code == 404
    response = await add_app(client, app_secret="hijack")
    assert response.status_code in (403, 404)
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "4455667788"))
    assert app is not None
    assert app.app_secret != "hijack"


async def test_another_orgs_apps_are_not_listed(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await create_meta_app(db, org_id=personas.org_other.id, app_id="1010101010")
    await create_meta_app(db, org_id=None, app_id="2020202020")
    await login(client, personas.owner)
    page = await client.get(PAGE)
    assert "1010101010" not in page.text
    assert "2020202020" not in page.text
    assert "No app yet" in page.text


async def test_an_admin_sets_and_removes_the_login_configuration_id(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    assert (await add_app(client, login_config_id=" 987654321 ")).status_code == 303
    assert "<code>987654321</code>" in (await client.get(PAGE)).text
    # Left empty, the stored id stays; the box removes it.
    assert (await add_app(client, app_secret="", verify_token="")).status_code == 303
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "4455667788"))
    assert app is not None
    assert app.login_config_id == "987654321"
    removed = await add_app(client, app_secret="", verify_token="", remove_login_config_id="1")
    assert removed.status_code == 303
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "4455667788"))
    assert app is not None
    assert app.login_config_id is None


async def test_a_login_configuration_id_that_is_not_digits_is_refused_with_the_form_kept(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    response = await add_app(client, login_config_id="config-12")
    assert response.status_code == 400
    assert "The login configuration id is the number Meta shows" in response.text
    assert 'value="config-12"' in response.text
    assert 'value="acme-token"' in response.text
    assert SECRET not in response.text
    async with db.read() as session:
        assert await session.scalar(select(MetaApp)) is None


async def test_the_platform_app_that_delivers_an_orgs_webhooks_is_listed_read_only(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    platform = await create_meta_app(db, org_id=None, app_id="2020202020", name="wabawatch platform")
    await register(db, personas.org, platform, WABA_ID, "Acme US")
    await register(db, personas.org_other, platform, "999000111", "Bravo's")
    async with db.transaction() as session:
        stored = await session.get(MetaApp, platform.id)
        assert stored is not None
        stored.last_verified_at = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    ours, theirs = body({"entry": [{"id": WABA_ID}]}), body({"entry": [{"id": "999000111"}]})
    await store_delivery(db, platform, ours, received_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await store_delivery(db, platform, theirs, received_at=datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    await Processor(db).run_until_idle()

    await login(client, personas.owner)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "No app yet" not in page.text
    row = html.unescape(page.text.split('data-app-id="2020202020"')[1].split("</section>")[0])
    assert 'data-own="no"' in page.text
    assert "the platform's app · read-only" in row
    assert "http://testserver/webhooks/whatsapp/2020202020" in row
    assert "2026-11-30 09:15 UTC" in row  # Meta's handshake
    assert "2026-12-01 08:00 UTC" in row  # the newest delivery for this org's WABAs
    assert "2026-12-02" not in row  # never another org's traffic
    assert "1 of your WABAs connected through it" in row
    assert "verify-me-please" not in page.text
    assert "kept by the app's owner" in row
    assert "inspector-link" not in row


def body(extra: dict[str, object]) -> dict[str, object]:
    """A one-change account_update delivery for the entry id in ``extra``."""
    change = fixture("account_update__verified_account_legacy")["entry"][0]["changes"][0]
    entry = {**extra["entry"][0], "time": 1_748_454_394, "changes": [change]}  # type: ignore[index]
    return {"object": "whatsapp_business_account", "entry": [entry]}
