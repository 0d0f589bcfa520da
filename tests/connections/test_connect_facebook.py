"""Facebook Login for Business through Authlib against the fake's OAuth dialog: the code exchanged
for a token, the granted WABAs discovered from debug_token, the admin picks which to connect."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.meta.models import MetaApp
from app.wabas.models import Waba
from tests.factories import Personas, csrf_token, login
from tests.support.connect import START, through_the_dialog
from tests.support.fake_graph import APP_ID, OTHER_WABA_ID, WABA_ID, FakeGraph, Seeded

pytestmark = pytest.mark.usefixtures("graph", "our_app", "seeded")


async def test_an_admin_connects_the_wabas_the_login_granted(
    client: httpx2.AsyncClient, db: Database, personas: Personas, our_app: MetaApp
) -> None:
    async with db.transaction() as session:
        app = await session.get(MetaApp, our_app.id)
        assert app is not None
        app.login_config_id = "777000111"
    await login(client, personas.admin)
    start = await client.get(START)
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["client_id"] == [APP_ID]
    assert query["config_id"] == ["777000111"]
    assert query["scope"] == ["whatsapp_business_management,business_management"]
    assert query["redirect_uri"] == ["http://testserver/o/acme/wabas/connect/facebook/callback"]

    pick = await through_the_dialog(client, [WABA_ID, OTHER_WABA_ID])
    assert pick.status_code == 200, pick.text
    assert f'value="{WABA_ID}"' in pick.text
    assert f'value="{OTHER_WABA_ID}"' in pick.text
    assert "Lucky Shrub (US)" in pick.text
    assert "EAA" not in pick.text
    cookie = str(client.cookies.get("wabawatch_session")).split(".")[0]
    session = base64.b64decode(cookie + "=" * (-len(cookie) % 4)).decode()
    assert '"token": "gAAAA' in session  # the token is in the session, Fernet-encrypted
    assert "EAA" not in session

    token = await csrf_token(client, "/o/acme/wabas/connect")
    done = await client.post(
        "/o/acme/wabas/connect/facebook/pick", data={"waba": WABA_ID, "csrf_token": token}
    )
    assert done.status_code == 303
    async with db.read() as session:
        wabas = list(await session.scalars(select(Waba)))
    assert [(w.waba_id, w.org_id, w.name) for w in wabas] == [(WABA_ID, personas.org.id, "Lucky Shrub (US)")]
    assert wabas[0].access_token is not None
    assert wabas[0].access_token.startswith("EAA")
    home = await client.get("/o/acme")
    assert "1 WABA connected through Facebook Login." in home.text


async def test_a_cancelled_login_says_so_and_connects_nothing(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    back = await through_the_dialog(client, [WABA_ID], decision="deny")
    assert back.status_code == 400
    assert "The Facebook login was cancelled or refused (Permissions error)." in back.text
    token = await csrf_token(client, "/o/acme/wabas/connect")
    done = await client.post(
        "/o/acme/wabas/connect/facebook/pick", data={"waba": WABA_ID, "csrf_token": token}
    )
    assert done.status_code == 303
    assert "The Facebook login has expired. Start again." in (await client.get("/o/acme/wabas/connect")).text


async def test_a_login_that_grants_no_waba_says_so(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.admin)
    back = await through_the_dialog(client, [])
    assert back.status_code == 400
    assert "The login granted no WhatsApp Business Account" in back.text


async def test_a_forged_state_is_refused(
    client: httpx2.AsyncClient, personas: Personas, fake_graph: FakeGraph, seeded: Seeded
) -> None:
    await login(client, personas.admin)
    await client.get(START)
    back = await client.get("/o/acme/wabas/connect/facebook/callback?code=AQforged&state=not-the-state")
    assert back.status_code == 400
    assert "The Facebook login did not finish" in back.text


async def test_a_viewer_cannot_start_the_login(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.viewer)
    assert (await client.get(START)).status_code == 403


async def test_continue_with_facebook_is_a_link_so_the_sites_form_action_policy_stays_self(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    """Chromium applies ``form-action`` to the redirects after a form's submission, so a form that
    ends on Meta's dialog was blocked; a link's navigation is not a form's."""
    await login(client, personas.admin)
    page = await client.get("/o/acme/wabas/connect")
    start = page.text.split('data-testid="facebook-start"')[1].split("</ul>")[0]
    assert f'href="http://testserver/o/acme/wabas/connect/facebook?app_id={APP_ID}"' in start
    assert "Continue with Facebook" in start
    assert "<form" not in start
    csp = page.headers["content-security-policy"]
    assert "form-action 'self';" in csp
