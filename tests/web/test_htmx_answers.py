"""HTMX requests get fragments and headers htmx acts on, never a whole page swapped into a corner."""

from __future__ import annotations

import httpx2

from tests.factories import Personas, csrf_token, login

HX = {"HX-Request": "true"}


async def test_an_expired_session_under_htmx_redirects_the_whole_page(client: httpx2.AsyncClient) -> None:
    response = await client.get("/o/acme/members", headers=HX)
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "http://testserver/login?next=%2Fo%2Facme%2Fmembers"


async def test_a_refusal_under_htmx_is_an_out_of_band_toast(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.viewer)
    token = await csrf_token(client, "/o/acme")
    response = await client.post(
        "/o/acme/settings", data={"name": "x"}, headers={**HX, "X-CSRF-Token": token}
    )
    assert response.status_code == 403
    assert response.text.startswith('<div id="toasts" hx-swap-oob="beforeend">')
    assert "This needs the admin role in this organization." in response.text
    assert "<html" not in response.text


async def test_a_missing_page_under_htmx_is_a_toast_too(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.outsider)
    response = await client.get("/o/acme", headers=HX)
    assert response.status_code == 404
    assert 'hx-swap-oob="beforeend"' in response.text
    assert "There is nothing here, or you do not have access to it." in response.text


async def test_pages_vary_on_hx_request(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.viewer)
    response = await client.get("/o/acme")
    assert "hx-request" in response.headers["vary"].lower()
