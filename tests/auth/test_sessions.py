"""Sign-in, sign-out, throttling and how long a session cookie stays good."""

from __future__ import annotations

import base64
import json
import time

import httpx2
import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select, update

from app.auth.models import LoginAttempt
from app.db.engine import Database
from app.main import Dispatcher
from app.settings import Settings
from app.tenancy.models import User
from tests.factories import PASSWORD, Personas, client_for, csrf_token, login

COOKIE = "wabawatch_session"


async def try_login(client: httpx2.AsyncClient, email: str, password: str) -> httpx2.Response:
    token = await csrf_token(client)
    return await client.post("/login", data={"email": email, "password": password, "csrf_token": token})


async def test_sign_in_redirects_to_next_and_records_the_attempt(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    token = await csrf_token(client, "/login?next=/o/acme/members")
    response = await client.post(
        "/login",
        data={
            "email": "Viewer@Acme.example",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/o/acme/members",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/o/acme/members"
    async with db.read() as session:
        attempt = (await session.scalars(select(LoginAttempt))).one()
    assert (attempt.email, attempt.succeeded) == ("viewer@acme.example", True)


async def test_sign_in_never_redirects_to_another_site(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        token = await csrf_token(client, "/password/forgot")
        response = await client.post(
            "/login",
            data={"email": personas.viewer.email, "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "http://testserver/o/acme"


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    wrong = await try_login(client, personas.viewer.email, "wrong-password-123")
    unknown = await try_login(client, "nobody@example.com", "wrong-password-123")
    assert wrong.status_code == unknown.status_code == 400
    assert "That email and password do not match an account." in wrong.text
    assert "That email and password do not match an account." in unknown.text
    assert COOKIE not in client.cookies or (await client.get("/o/acme")).status_code == 303


async def test_too_many_failures_for_one_account_answer_429_even_with_the_right_password(
    app: Dispatcher, personas: Personas, settings: Settings
) -> None:
    for n in range(settings.login_max_failures_per_account):
        # Each failure from another address: the account limit is what trips.
        async with client_for(app, address=f"10.0.0.{n + 1}") as c:
            assert (await try_login(c, personas.viewer.email, "wrong-password-123")).status_code == 400
    async with client_for(app, address="10.0.1.1") as c:
        response = await try_login(c, personas.viewer.email, PASSWORD)
        assert response.status_code == 429
        assert "Too many failed sign-ins for this account" in response.text
        assert (await c.get("/o/acme")).status_code == 303
        # Another account is not affected.
        assert (await try_login(c, personas.admin.email, PASSWORD)).status_code == 303


async def test_too_many_failures_from_one_address_answer_429_for_every_account(
    app: Dispatcher, personas: Personas, settings: Settings
) -> None:
    async with client_for(app, address="192.0.2.7") as c:
        for n in range(settings.login_max_failures_per_address):
            assert (await try_login(c, f"guess{n}@example.com", "wrong-password-123")).status_code == 400
        response = await try_login(c, personas.owner.email, PASSWORD)
        assert response.status_code == 429
        assert "Too many failed sign-ins from your network" in response.text
    async with client_for(app, address="192.0.2.8") as other:
        assert (await try_login(other, personas.owner.email, PASSWORD)).status_code == 303


async def test_sign_out_ends_the_session_and_a_copied_cookie_stops_working(
    app: Dispatcher, personas: Personas
) -> None:
    async with client_for(app) as browser, client_for(app) as thief:
        await login(browser, personas.owner)
        thief.cookies.set(COOKIE, browser.cookies[COOKIE])
        assert (await thief.get("/o/acme")).status_code == 200
        token = await csrf_token(browser, "/o/acme")
        response = await browser.post("/logout", data={"csrf_token": token})
        assert response.status_code == 303
        assert response.headers["location"].endswith("/login")
        assert (await browser.get("/o/acme")).status_code == 303
        assert "You are signed out." in (await browser.get("/login")).text
        stolen = await thief.get("/o/acme")
        assert stolen.status_code == 303
        assert stolen.headers["location"].startswith("http://testserver/login?next=")


async def test_sign_out_is_post_only_and_needs_the_csrf_token(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.owner)
    assert (await client.get("/logout")).status_code == 405
    assert (await client.post("/logout")).status_code == 403
    assert (await client.post("/logout", data={"csrf_token": "forged"})).status_code == 403
    assert (await client.get("/o/acme")).status_code == 200


def forge_cookie(value: str, secret: str, *, age_seconds: int) -> str:
    """The same session data, signed as if it had been issued ``age_seconds`` ago."""
    signer = TimestampSigner(secret)
    data = signer.unsign(value.encode())

    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    return Backdated(secret).sign(data).decode()


async def test_a_session_older_than_its_lifetime_no_longer_signs_in(
    client: httpx2.AsyncClient, personas: Personas, settings: Settings
) -> None:
    await login(client, personas.owner)
    cookie = client.cookies[COOKIE]
    secret = settings.secret_key.get_secret_value()
    payload = json.loads(base64.b64decode(TimestampSigner(secret).unsign(cookie.encode())))
    assert payload["uid"] == personas.owner.id
    for age, status in (
        (settings.session_max_age_seconds - 60, 200),
        (settings.session_max_age_seconds + 60, 303),
    ):
        client.cookies.clear()
        client.cookies.set(COOKIE, forge_cookie(cookie, secret, age_seconds=age))
        assert (await client.get("/o/acme")).status_code == status


@pytest.mark.parametrize("flag", ["HttpOnly", "SameSite=lax", "Max-Age="])
async def test_session_cookie_flags(client: httpx2.AsyncClient, flag: str) -> None:
    response = await client.get("/login")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert flag.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # http base URL: a Secure cookie would never come back


async def test_a_throttled_answer_says_when_to_retry(
    app: Dispatcher, personas: Personas, settings: Settings
) -> None:
    async with client_for(app, address="198.51.100.4") as c:
        for _ in range(settings.login_max_failures_per_account):
            await try_login(c, personas.admin.email, "wrong-password-123")
        response = await try_login(c, personas.admin.email, PASSWORD)
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(settings.login_failure_window_seconds)


async def test_an_absurdly_long_email_is_just_a_failed_sign_in(
    client: httpx2.AsyncClient, db: Database
) -> None:
    response = await try_login(client, "x" * 5000 + "@example.com", "wrong-password-123")
    assert response.status_code == 400
    assert "do not match an account" in response.text
    async with db.read() as session:
        attempt = (await session.scalars(select(LoginAttempt))).one()
    assert len(attempt.email) == 320


async def test_typed_markup_is_shown_as_text(client: httpx2.AsyncClient) -> None:
    response = await try_login(client, '"><script>alert(1)</script>', "wrong-password-123")
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


async def test_a_deactivated_account_is_signed_out_and_cannot_sign_in(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.viewer)
    async with db.transaction() as session:
        await session.execute(update(User).where(User.id == personas.viewer.id).values(is_active=False))
    assert (await client.get("/o/acme")).status_code == 303
    response = await try_login(client, personas.viewer.email, PASSWORD)
    assert response.status_code == 400
    assert "do not match an account" in response.text


async def test_failures_from_elsewhere_do_not_lock_the_owner_out_of_an_address_they_signed_in_from(
    app: Dispatcher, personas: Personas, settings: Settings
) -> None:
    async with client_for(app, address="198.51.100.20") as home:
        await login(home, personas.viewer)
    for n in range(settings.login_max_failures_per_account):
        async with client_for(app, address=f"203.0.113.{n + 1}") as attacker:
            assert (await try_login(attacker, personas.viewer.email, "wrong-password-123")).status_code == 400
    # A new address is refused for the account; the owner's usual address is not.
    async with client_for(app, address="203.0.113.200") as stranger:
        assert (await try_login(stranger, personas.viewer.email, PASSWORD)).status_code == 429
    async with client_for(app, address="198.51.100.20") as home:
        assert (await try_login(home, personas.viewer.email, PASSWORD)).status_code == 303


async def test_a_known_address_is_still_throttled_on_its_own_failures(
    app: Dispatcher, personas: Personas, settings: Settings
) -> None:
    async with client_for(app, address="198.51.100.21") as home:
        await login(home, personas.viewer)
    async with client_for(app, address="198.51.100.21") as home:
        for _ in range(settings.login_max_failures_per_account):
            assert (await try_login(home, personas.viewer.email, "wrong-password-123")).status_code == 400
        response = await try_login(home, personas.viewer.email, PASSWORD)
        assert response.status_code == 429
        assert "Too many failed sign-ins for this account" in response.text
