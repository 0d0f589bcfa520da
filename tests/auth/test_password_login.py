from __future__ import annotations

import httpx2

from tests.factories import Personas, csrf_token, login


async def test_sign_in_lands_on_org_page(client: httpx2.AsyncClient, personas: Personas) -> None:
    response = await login(client, personas.viewer)
    assert response.headers["location"].endswith("/o/acme")
    page = await client.get("/o/acme")
    assert page.status_code == 200
    assert "Acme Messaging" in page.text


async def test_wrong_password_is_refused_with_a_clear_message(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/login", data={"email": personas.viewer.email, "password": "nope-nope-nope", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "do not match an account" in response.text
    assert (await client.get("/o/acme")).status_code == 303
