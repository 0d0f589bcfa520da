"""Single sign-on end to end against a real OpenID provider (oidc-provider-mock) on loopback.

Our app is driven through the ASGI transport; the provider is a real HTTP server in a thread, so
Authlib really fetches discovery, exchanges the code, downloads the JWKS and validates the ID token
(signature, audience, nonce) and the PKCE verifier.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from sqlalchemy import func, select

from app.auth.models import OidcIdentity
from app.db.engine import Database
from app.main import Dispatcher, create_app
from app.tenancy.models import Role, User
from tests.factories import add_member, create_org, create_user
from tests.support.clients import new_client
from tests.support.oidc_provider import running_provider
from tests.support.settings import make_settings

CLIENT_ID = "wabawatch-test"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The provider's base URL (also its issuer)."""
    with running_provider() as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
async def sso_app(database_url: str, provider: str) -> AsyncIterator[Dispatcher]:
    settings = make_settings(
        database_url,
        oidc_discovery_url=f"{provider}/.well-known/openid-configuration",
        oidc_client_id=CLIENT_ID,
        oidc_client_secret="client-secret-for-tests",
        oidc_provider_name="Example ID",
    )
    application = create_app(settings)
    async with application.web.router.lifespan_context(application.web):
        yield application


@pytest.fixture
async def sso_client(sso_app: Dispatcher, db: Database) -> AsyncIterator[httpx2.AsyncClient]:
    # Depending on `db` empties the tables after each test.
    async with new_client(sso_app) as c:
        yield c


@pytest.fixture
async def idp(provider: str) -> AsyncIterator[httpx2.AsyncClient]:
    """The browser's side of the provider: a real HTTP client talking to it."""
    async with httpx2.AsyncClient(base_url=provider) as c:
        yield c


async def set_claims(idp: httpx2.AsyncClient, sub: str, claims: dict[str, object]) -> None:
    response = await idp.put(f"/users/{sub}", json=claims)
    assert response.status_code == 204, response.text


async def sso_round_trip(
    client: httpx2.AsyncClient, idp: httpx2.AsyncClient, sub: str, start: str = "/login/sso"
) -> tuple[httpx2.Response, dict[str, list[str]]]:
    """/login/sso → provider's form → POST the subject → back to our callback. Returns the callback answer."""
    started = await client.get(start)
    assert started.status_code == 302, started.text
    authorize_url = started.headers["location"]
    query = parse_qs(urlsplit(authorize_url).query)
    form = await idp.get(authorize_url)
    assert form.status_code == 200, form.text
    assert 'name="sub"' in form.text
    consent = await idp.post(authorize_url, data={"sub": sub})
    assert consent.status_code == 302, consent.text
    callback = consent.headers["location"]
    assert callback.startswith("http://testserver/login/sso/callback?")
    return await client.get(callback), query


async def count_users(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_sso_start_redirects_with_pkce_and_nonce(sso_client: httpx2.AsyncClient, provider: str) -> None:
    response = await sso_client.get("/login/sso")
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{provider}/oauth2/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://testserver/login/sso/callback"]
    assert set(query["scope"][0].split()) >= {"openid", "email"}
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["nonce"][0]
    assert query["state"][0]


async def test_login_page_offers_sso_when_configured(sso_client: httpx2.AsyncClient) -> None:
    page = await sso_client.get("/login")
    assert "Sign in with Example ID" in page.text
    assert 'href="http://testserver/login/sso"' in page.text


async def test_first_sso_sign_in_creates_user_with_verified_email(
    sso_client: httpx2.AsyncClient, idp: httpx2.AsyncClient, db: Database, provider: str
) -> None:
    await set_claims(
        idp, "alice-1", {"email": "Alice@Example.com", "email_verified": True, "name": "Alice A"}
    )

    response, _ = await sso_round_trip(sso_client, idp, "alice-1")

    assert response.status_code == 303, response.text
    assert response.headers["location"] == "http://testserver/orgs"
    async with db.read() as session:
        user = (await session.scalars(select(User).where(User.email == "alice@example.com"))).one()
        identity = (await session.scalars(select(OidcIdentity))).one()
    assert user.email_verified is True
    assert user.password_hash is None
    assert (identity.user_id, identity.issuer, identity.subject) == (user.id, provider, "alice-1")
    # The session is signed in: the orgs page answers instead of sending us to /login.
    orgs = await sso_client.get("/orgs")
    assert orgs.status_code == 200
    assert "alice@example.com" in orgs.text


async def test_existing_user_is_linked_by_email_then_found_by_subject(
    sso_app: Dispatcher, sso_client: httpx2.AsyncClient, idp: httpx2.AsyncClient, db: Database
) -> None:
    org = await create_org(db, name="Acme Messaging", slug="acme")
    bob = await create_user(db, email="bob@acme.example")
    await add_member(db, org, bob, Role.ADMIN)
    await set_claims(idp, "bob-sub", {"email": "bob@acme.example", "email_verified": True})

    first, _ = await sso_round_trip(sso_client, idp, "bob-sub", start="/login/sso?next=/o/acme/members")

    assert first.status_code == 303, first.text
    assert first.headers["location"] == "/o/acme/members"
    async with db.read() as session:
        identity = (await session.scalars(select(OidcIdentity))).one()
    assert identity.user_id == bob.id
    assert (await sso_client.get("/o/acme")).status_code == 200

    # The provider now reports another (unverified) email: the subject still finds Bob.
    await set_claims(idp, "bob-sub", {"email": "robert@elsewhere.example"})
    async with new_client(sso_app) as fresh:
        second, _ = await sso_round_trip(fresh, idp, "bob-sub")
        assert second.status_code == 303, second.text
        assert second.headers["location"] == "http://testserver/o/acme"
        home = await fresh.get("/o/acme")
        assert home.status_code == 200
        assert "Acme Messaging" in home.text
    assert await count_users(db) == 1


async def test_unverified_email_is_refused(
    sso_client: httpx2.AsyncClient, idp: httpx2.AsyncClient, db: Database
) -> None:
    await create_user(db, email="eve@acme.example")
    # Claims without email_verified: the provider vouches for nothing.
    await set_claims(idp, "eve-sub", {"email": "eve@acme.example"})

    response, _ = await sso_round_trip(sso_client, idp, "eve-sub")

    assert response.status_code == 400
    assert "did not confirm your email address" in response.text
    async with db.read() as session:
        assert (await session.scalars(select(OidcIdentity))).first() is None
    assert await count_users(db) == 1
    after = await sso_client.get("/orgs")
    assert after.status_code in (302, 303)
    assert after.headers["location"].startswith("http://testserver/login")


async def test_bad_state_is_refused(
    sso_client: httpx2.AsyncClient, idp: httpx2.AsyncClient, db: Database
) -> None:
    await set_claims(idp, "mallory", {"email": "mallory@example.com", "email_verified": True})
    started = await sso_client.get("/login/sso")
    authorize_url = started.headers["location"]
    consent = await idp.post(authorize_url, data={"sub": "mallory"})
    callback = urlsplit(consent.headers["location"])
    code = parse_qs(callback.query)["code"][0]

    response = await sso_client.get("/login/sso/callback", params={"code": code, "state": "forged-state"})

    assert response.status_code == 400
    assert "Single sign-on failed" in response.text
    assert await count_users(db) == 0


async def test_code_from_another_sign_in_is_refused_by_the_nonce(
    sso_client: httpx2.AsyncClient, idp: httpx2.AsyncClient, db: Database
) -> None:
    """A code injected into a different sign-in (its state, its nonce) yields an ID token whose
    nonce does not match: Authlib's validation refuses it and we say so, not a 500."""
    await set_claims(idp, "dave", {"email": "dave@example.com", "email_verified": True})
    first = (await sso_client.get("/login/sso")).headers["location"]
    second = (await sso_client.get("/login/sso")).headers["location"]
    consent = await idp.post(first, data={"sub": "dave"})
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    other_state = parse_qs(urlsplit(second).query)["state"][0]

    response = await sso_client.get("/login/sso/callback", params={"code": code, "state": other_state})

    assert response.status_code == 400
    assert "the identity token did not validate" in response.text
    assert await count_users(db) == 0


async def test_replayed_callback_is_refused(
    sso_app: Dispatcher, sso_client: httpx2.AsyncClient, idp: httpx2.AsyncClient, db: Database
) -> None:
    await set_claims(idp, "carol", {"email": "carol@example.com", "email_verified": True})
    started = await sso_client.get("/login/sso")
    consent = await idp.post(started.headers["location"], data={"sub": "carol"})
    callback = consent.headers["location"]
    assert (await sso_client.get(callback)).status_code == 303

    # The state was used up by the first visit; the same link in the same browser is refused.
    replay = await sso_client.get(callback)

    assert replay.status_code == 400
    assert "Single sign-on failed" in replay.text


async def test_denied_consent_is_refused_in_words(
    sso_client: httpx2.AsyncClient, idp: httpx2.AsyncClient, db: Database
) -> None:
    started = await sso_client.get("/login/sso")
    denied = await idp.post(started.headers["location"], data={"action": "deny"})
    assert denied.status_code == 302
    assert "error=access_denied" in denied.headers["location"]

    response = await sso_client.get(denied.headers["location"])

    assert response.status_code == 400
    assert "Single sign-on failed" in response.text
    assert await count_users(db) == 0


async def test_unreachable_provider_is_explained_not_a_500(database_url: str, db: Database) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    settings = make_settings(
        database_url,
        oidc_discovery_url=f"http://127.0.0.1:{dead_port}/.well-known/openid-configuration",
        oidc_client_id=CLIENT_ID,
        oidc_provider_name="Example ID",
    )
    application = create_app(settings)
    async with application.web.router.lifespan_context(application.web), new_client(application) as c:
        response = await c.get("/login/sso")
    assert response.status_code == 502
    assert "Example ID cannot be reached right now" in response.text


async def test_callback_without_a_started_sign_in_is_refused(
    sso_client: httpx2.AsyncClient, db: Database
) -> None:
    response = await sso_client.get("/login/sso/callback", params={"code": "x", "state": "y"})
    assert response.status_code == 400
    assert "Single sign-on failed" in response.text
    assert await count_users(db) == 0


async def test_sso_is_404_when_not_configured(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/login/sso")).status_code == 404
    assert (await client.get("/login/sso/callback?code=x&state=y")).status_code == 404
    assert "Sign in with" not in (await client.get("/login")).text
