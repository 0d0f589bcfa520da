from __future__ import annotations

import httpx2
from sqlalchemy import func, select

from app.db.engine import Database
from app.settings import Settings
from app.tenancy.models import Membership, Organization, User
from tests.factories import PASSWORD, create_user, csrf_token, post_form, running_app


async def sign_up(client: httpx2.AsyncClient, **fields: str) -> httpx2.Response:
    data = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, "org_name": "Ada Telecom"}
    return await post_form(client, "/signup", {**data, **fields}, page="/signup")


async def test_sign_up_creates_user_org_and_owner_membership(
    client: httpx2.AsyncClient, db: Database
) -> None:
    response = await sign_up(client, email="  Ada@Example.com ")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/o/ada-telecom")
    async with db.read() as session:
        user = (await session.scalars(select(User))).one()
        org = (await session.scalars(select(Organization))).one()
        membership = (await session.scalars(select(Membership))).one()
    assert user.email == "ada@example.com"
    assert user.password_hash
    assert PASSWORD not in user.password_hash
    assert (org.name, org.slug) == ("Ada Telecom", "ada-telecom")
    assert (membership.user_id, membership.org_id, membership.role) == (user.id, org.id, "owner")
    page = await client.get("/o/ada-telecom")
    assert page.status_code == 200
    assert "You are owner here." in page.text


async def test_duplicate_email_is_refused(client: httpx2.AsyncClient, db: Database) -> None:
    await create_user(db, email="ada@example.com")
    response = await sign_up(client, email="ADA@example.com")
    assert response.status_code == 400
    assert "An account with this email already exists" in response.text
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Organization)) == 0


async def test_weak_password_is_refused(client: httpx2.AsyncClient, db: Database) -> None:
    response = await sign_up(client, password="short")
    assert response.status_code == 400
    assert "Use at least 10 characters." in response.text
    assert 'value="ada@example.com"' in response.text  # the form keeps what was typed
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_closed_sign_up_shows_a_clear_page_and_creates_nothing(
    settings: Settings, db: Database
) -> None:
    async with running_app(settings, signup_enabled=False) as client:
        page = await client.get("/signup")
        assert "Sign-up is closed" in page.text
        assert "created by invitation" in page.text
        assert "Create an account" not in (await client.get("/login")).text
        token = await csrf_token(client)
        posted = await client.post(
            "/signup",
            data={"email": "eve@example.com", "password": PASSWORD, "org_name": "Eve", "csrf_token": token},
        )
    assert page.status_code == posted.status_code == 404
    assert "Sign-up is closed" in posted.text
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_over_long_fields_are_refused_or_cut_in_words(client: httpx2.AsyncClient, db: Database) -> None:
    too_long_org = await sign_up(client, org_name="O" * 201)
    assert too_long_org.status_code == 400
    assert "That name is too long (200 characters at most)." in too_long_org.text
    too_long_email = await sign_up(client, email="a" * 320 + "@example.com")
    assert too_long_email.status_code == 400
    assert "Enter a valid email address." in too_long_email.text
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0
    accepted = await sign_up(client, name="N" * 5000)
    assert accepted.status_code == 303
    async with db.read() as session:
        assert len((await session.scalars(select(User.name))).one()) == 200
