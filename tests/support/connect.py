"""Connecting a WABA the ways an admin does, for the connect, sync and subscription tests: the
connect page's form, a signed-in admin's connected WABA, and Facebook Login through the fake
Graph API's OAuth dialog."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx2

from app.db.engine import Database
from app.wabas.models import Waba
from tests.factories import Personas, login, post_form
from tests.support.fake_graph import APP_ID, SSL, WABA_ID, Seeded


def connect_page(personas: Personas) -> str:
    return f"/o/{personas.org.slug}/wabas/connect"


async def connect_by_form(
    client: httpx2.AsyncClient,
    personas: Personas,
    token: str,
    *,
    waba_id: str = WABA_ID,
    app_id: str = APP_ID,
) -> httpx2.Response:
    page = connect_page(personas)
    return await post_form(
        client, page, {"app_id": app_id, "waba_id": waba_id, "access_token": token}, page=page
    )


async def connected(client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded) -> Waba:
    """Signs the admin in and connects the seeded WABA through the page."""
    await login(client, personas.admin)
    response = await connect_by_form(client, personas, seeded.token.value)
    assert response.status_code == 303, response.text
    from sqlalchemy import select

    async with db.read() as session:
        waba = await session.scalar(select(Waba).where(Waba.waba_id == WABA_ID))
    assert waba is not None
    return waba


START = f"/o/acme/wabas/connect/facebook?app_id={APP_ID}"


async def through_the_dialog(
    client: httpx2.AsyncClient, grant: list[str], decision: str = "allow"
) -> httpx2.Response:
    """Starts the login, answers Meta's (the fake's) dialog as a person would, follows the redirect back."""
    start = await client.get(START)
    assert start.status_code == 302
    dialog = start.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(dialog).query).items()}
    async with httpx2.AsyncClient(verify=SSL) as browser:
        shown = await browser.get(dialog)
        assert shown.status_code == 200
        answer = await browser.post(dialog.split("?")[0], data={**query, "decision": decision, "waba": grant})
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    return await client.get(f"{back.path}?{back.query}")
