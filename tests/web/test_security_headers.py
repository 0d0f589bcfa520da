"""Headers that every page carries, the session cookie's flags, and error pages that leak nothing."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from app.settings import Settings
from tests.factories import Personas, csrf_token, login, running_app


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_security_headers(response: httpx2.Response) -> None:
    csp = directives(response.headers["content-security-policy"])
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts == ["'self'"], scripts
    assert "'unsafe-inline'" not in csp.get("default-src", [])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in {
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    }
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/login", "/signup", "/password/forgot", "/no/such/page", "/healthz"])
async def test_public_responses_carry_the_security_headers(client: httpx2.AsyncClient, path: str) -> None:
    assert_security_headers(await client.get(path))


async def test_signed_in_pages_and_refusals_carry_the_security_headers(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.viewer)
    for path in ("/o/acme", "/o/acme/members", "/o/bravo"):
        assert_security_headers(await client.get(path))
    assert_security_headers(await client.post("/o/acme/settings", data={"name": "x"}))  # CSRF refusal


async def test_pages_have_no_inline_script(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.owner)
    for path in ("/login", "/o/acme", "/o/acme/members", "/o/acme/settings"):
        html = (await client.get(path)).text
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), f"inline script on {path}: <script{tag[:80]}"
        assert " onclick=" not in html
        assert " onload=" not in html


async def test_over_https_the_cookie_is_secure_and_hsts_is_sent(settings: Settings) -> None:
    async with running_app(settings, base_url="https://dash.example.com") as client:
        response = await client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_over_plain_http_there_is_no_hsts(client: httpx2.AsyncClient) -> None:
    assert "strict-transport-security" not in (await client.get("/login")).headers


async def test_a_crash_shows_a_plain_500_page_without_internals(settings: Settings, tmp_path: Path) -> None:
    # A database without tables: the first query of a sign-in fails deep inside SQLAlchemy.
    url = f"sqlite:///{tmp_path / 'no-schema.sqlite3'}"
    async with running_app(settings, database_url=url, raise_app_exceptions=False) as client:
        token = await csrf_token(client)
        response = await client.post(
            "/login", data={"email": "a@example.com", "password": "whatever-123", "csrf_token": token}
        )
    assert response.status_code == 500
    assert "Something went wrong on our side." in response.text
    for leak in ("Traceback", "OperationalError", "no such table", "login_attempts", "sqlalchemy", 'File "'):
        assert leak not in response.text
    assert_security_headers(response)


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/nowhere", 404), ("PUT", "/login", 405)])
async def test_not_found_and_wrong_method_pages_say_so_in_words(
    client: httpx2.AsyncClient, method: str, path: str, status: int
) -> None:
    await client.get("/login")
    token = await csrf_token(client)
    response = await client.request(method, path, headers={"X-CSRF-Token": token})
    assert response.status_code == status
    assert "<h1>" in response.text
    assert "Traceback" not in response.text
