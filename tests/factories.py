"""Plain async factories and the standard personas (owner/admin/viewer of org A, an outsider, staff)."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from starlette.types import ASGIApp

from app.db.engine import Database
from app.lib.passwords import PasswordHasherBox
from app.settings import Settings
from app.tenancy.models import Membership, Organization, Role, User

PASSWORD = "correct-horse-battery"
_hasher = PasswordHasherBox(fast=True)
_seq = itertools.count(1)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def create_user(
    db: Database, *, email: str | None = None, staff: bool = False, password: str = PASSWORD
) -> User:
    async with db.transaction() as session:
        user = User(
            email=email or f"user{next(_seq)}@example.com",
            password_hash=await _hasher.hash(password),
            is_staff=staff,
            email_verified=True,
        )
        session.add(user)
    return user


async def create_org(db: Database, *, name: str | None = None, slug: str | None = None) -> Organization:
    n = next(_seq)
    async with db.transaction() as session:
        org = Organization(name=name or f"Org {n}", slug=slug or f"org-{n}")
        session.add(org)
    return org


async def add_member(db: Database, org: Organization, user: User, role: Role) -> Membership:
    async with db.transaction() as session:
        membership = Membership(org_id=org.id, user_id=user.id, role=role.value)
        session.add(membership)
    return membership


@dataclass
class Personas:
    org: Organization
    org_other: Organization
    owner: User
    admin: User
    viewer: User
    outsider: User
    staff: User


async def make_personas(db: Database) -> Personas:
    org = await create_org(db, name="Acme Messaging", slug="acme")
    org_other = await create_org(db, name="Bravo Retail", slug="bravo")
    owner = await create_user(db, email="owner@acme.example")
    admin = await create_user(db, email="admin@acme.example")
    viewer = await create_user(db, email="viewer@acme.example")
    outsider = await create_user(db, email="outsider@bravo.example")
    staff = await create_user(db, email="support@wabawatch.example", staff=True)
    await add_member(db, org, owner, Role.OWNER)
    await add_member(db, org, admin, Role.ADMIN)
    await add_member(db, org, viewer, Role.VIEWER)
    await add_member(db, org_other, outsider, Role.OWNER)
    return Personas(org, org_other, owner, admin, viewer, outsider, staff)


async def csrf_token(client: httpx2.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    match = CSRF_RE.search(page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def login(client: httpx2.AsyncClient, user: User, password: str = PASSWORD) -> httpx2.Response:
    token = await csrf_token(client)
    response = await client.post(
        "/login", data={"email": user.email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return response


async def post_form(
    client: httpx2.AsyncClient, path: str, data: dict[str, str], *, page: str
) -> httpx2.Response:
    """POST a form the way a browser does: with the CSRF token taken from the page that shows it."""
    token = await csrf_token(client, page)
    return await client.post(path, data={**data, "csrf_token": token})


def client_for(
    app: ASGIApp, *, address: str = "127.0.0.1", raise_app_exceptions: bool = True
) -> httpx2.AsyncClient:
    """A browser-like client of ``app`` seen by the server as coming from ``address``."""
    transport = httpx2.ASGITransport(
        app=app, client=(address, 123), raise_app_exceptions=raise_app_exceptions
    )
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver")


def settings_with(settings: Settings, **overrides: Any) -> Settings:
    """A validated copy of ``settings`` with some values changed (as if set in the environment)."""
    values = {**settings.model_dump(), **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def running_app(
    settings: Settings,
    *,
    address: str = "127.0.0.1",
    raise_app_exceptions: bool = True,
    **overrides: Any,
) -> AsyncIterator[httpx2.AsyncClient]:
    """A second app, on ``settings`` with ``overrides``, and a client of it."""
    from app.main import create_app

    application = create_app(settings_with(settings, **overrides))
    async with (
        application.web.router.lifespan_context(application.web),
        client_for(application, address=address, raise_app_exceptions=raise_app_exceptions) as client,
    ):
        yield client
