"""Every state-changing request needs the session's CSRF token and must come from our own site."""

from __future__ import annotations

import httpx2
import pytest

from app.main import Dispatcher
from app.web.csrf import REJECTED
from tests.factories import Personas, client_for, csrf_token, login

RENAME = "/o/acme/settings"


async def signed_in_owner(client: httpx2.AsyncClient, personas: Personas) -> str:
    await login(client, personas.owner)
    return await csrf_token(client, "/o/acme")


async def org_name(client: httpx2.AsyncClient) -> str:
    page = await client.get("/o/acme")
    return page.text.split('data-testid="org-title">', 1)[1].split("<", 1)[0]


async def test_a_post_without_token_is_refused_with_a_clear_message(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await signed_in_owner(client, personas)
    response = await client.post(RENAME, data={"name": "Renamed"}, headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert "Reload the page and try again." in response.text
    assert await org_name(client) == "Acme Messaging"


async def test_a_wrong_token_is_refused(client: httpx2.AsyncClient, personas: Personas) -> None:
    token = await signed_in_owner(client, personas)
    response = await client.post(RENAME, data={"name": "Renamed", "csrf_token": token[:-2] + "xx"})
    assert response.status_code == 403
    assert response.text == REJECTED
    assert await org_name(client) == "Acme Messaging"


async def test_the_token_in_the_form_is_accepted(client: httpx2.AsyncClient, personas: Personas) -> None:
    token = await signed_in_owner(client, personas)
    response = await client.post(RENAME, data={"name": "Renamed", "csrf_token": token})
    assert response.status_code == 303
    assert await org_name(client) == "Renamed"


async def test_the_token_in_a_multipart_form_is_accepted(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    token = await signed_in_owner(client, personas)
    response = await client.post(RENAME, files={"name": (None, "Multi"), "csrf_token": (None, token)})
    assert response.status_code == 303
    assert await org_name(client) == "Multi"


async def test_the_token_in_the_header_is_accepted(client: httpx2.AsyncClient, personas: Personas) -> None:
    token = await signed_in_owner(client, personas)
    response = await client.post(RENAME, data={"name": "By header"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 303
    assert await org_name(client) == "By header"


async def test_the_page_hands_htmx_the_token_for_its_header(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    token = await signed_in_owner(client, personas)
    page = await client.get("/o/acme")
    assert f'hx-headers:inherited=\'{{"X-CSRF-Token": "{token}"}}\'' in page.text


async def test_an_htmx_request_without_token_gets_an_error_toast(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await signed_in_owner(client, personas)
    response = await client.post(RENAME, data={"name": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert 'hx-swap-oob="beforeend"' in response.text
    assert "Reload the page and try again." in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver.evil.example"},
    ],
    ids=["foreign-origin", "null-origin", "sec-fetch-cross-site", "lookalike-origin"],
)
async def test_a_cross_site_request_is_refused_even_with_the_token(
    client: httpx2.AsyncClient, personas: Personas, headers: dict[str, str]
) -> None:
    token = await signed_in_owner(client, personas)
    response = await client.post(RENAME, data={"name": "Evil", "csrf_token": token}, headers=headers)
    assert response.status_code == 403
    assert await org_name(client) == "Acme Messaging"


async def test_a_same_origin_request_is_accepted(client: httpx2.AsyncClient, personas: Personas) -> None:
    token = await signed_in_owner(client, personas)
    headers = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    response = await client.post(RENAME, data={"name": "Same", "csrf_token": token}, headers=headers)
    assert response.status_code == 303


async def test_a_token_from_before_sign_in_is_useless_after(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    before = await csrf_token(client)
    await login(client, personas.owner)
    response = await client.post(RENAME, data={"name": "Fixated", "csrf_token": before})
    assert response.status_code == 403


async def test_another_sessions_token_is_refused(
    app: Dispatcher, client: httpx2.AsyncClient, personas: Personas
) -> None:
    async with client_for(app) as other:
        foreign = await csrf_token(other)
    await signed_in_owner(client, personas)
    response = await client.post(RENAME, data={"name": "Foreign", "csrf_token": foreign})
    assert response.status_code == 403


async def test_sign_in_itself_needs_the_token(client: httpx2.AsyncClient, personas: Personas) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"email": personas.owner.email, "password": "x"})
    assert response.status_code == 403


async def test_an_oversized_form_is_refused_whole_not_passed_on_cut(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    token = await signed_in_owner(client, personas)
    response = await client.post(
        RENAME, data={"name": "Big", "padding": "x" * (1024 * 1024 + 1), "csrf_token": token}
    )
    assert response.status_code == 413
    assert await org_name(client) == "Acme Messaging"
