"""/o/{org}/settings/apps: admins add and replace apps; the secret is never shown again."""

from __future__ import annotations

import httpx2
from sqlalchemy import select

from app.db.engine import Database
from app.meta.models import MetaApp
from tests.factories import Personas, create_meta_app, login, post_form
from tests.support.meta_app import sign

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
