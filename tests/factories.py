"""Plain async factories (users, orgs, memberships, Meta apps), the standard personas (owner/admin/viewer
of org A, an outsider, staff) and the client helpers that sign them in and post forms."""

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
from app.meta import app_cache
from app.meta import service as meta_service
from app.meta.models import MetaApp
from app.settings import Settings
from app.tenancy.models import Membership, Organization, Role, User
from tests.support.meta_app import APP_ID, SECRET, VERIFY_TOKEN

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


async def create_meta_app(
    db: Database,
    *,
    org_id: int | None = None,
    app_id: str = APP_ID,
    secret: str = SECRET,
    verify_token: str = VERIFY_TOKEN,
    name: str = "Test app",
) -> MetaApp:
    async with db.transaction() as session:
        saved = await meta_service.save_app(
            session, org_id=org_id, app_id=app_id, name=name, app_secret=secret, verify_token=verify_token
        )
    # Tables are emptied between tests, so forget what earlier tests cached.
    app_cache.invalidate()
    return saved.app


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
