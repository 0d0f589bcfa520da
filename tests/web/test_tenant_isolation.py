"""Every org URL, found by walking the app's routes, so routes added later are covered too.

An outsider (member of org B only) gets 404 on all of org A's URLs with every method; an anonymous
visitor is sent to sign in; a viewer never gets an admin POST through.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import anyio
import httpx2
import pytest
from starlette.convertors import IntegerConvertor
from starlette.routing import BaseRoute, Mount, Route

from app.main import Dispatcher, create_app
from tests.factories import Personas, client_for, csrf_token, login
from tests.support.settings import make_settings

ORG_PREFIX = "/o/{org_slug}"
SAFE = {"GET", "HEAD"}
# POST routes a viewer may use on someone else's object with id 1. None so far: add a route name here
# only when a viewer is meant to change something.
VIEWER_POSTS: set[str] = set()
# Org URLs that a link in a mail opens without signing in: the token in the URL is the credential.
# They are walked separately: a made-up token must get a refusal that shows nothing of the org.
TOKEN_ROUTES = {"alerts:confirm"}


@dataclass(frozen=True)
class OrgUrl:
    name: str
    path: str
    methods: frozenset[str]

    def __str__(self) -> str:
        return f"{self.name} {self.path}"


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Route):
            yield prefix, route
        elif isinstance(route, Mount) and route.routes:
            yield from _walk(list(route.routes), prefix + route.path)


def org_urls(org_slug: str = "acme") -> list[OrgUrl]:
    """Each org route with its path filled in: org_slug, integers = 1, other strings = "x"."""
    application = create_app(make_settings("sqlite:///unused-by-route-listing.sqlite3"))
    found = []
    for prefix, route in _walk(application.web.routes):
        full = prefix + route.path
        if not full.startswith(ORG_PREFIX):
            continue
        values = {
            name: ("1" if isinstance(convertor, IntegerConvertor) else "x")
            for name, convertor in route.param_convertors.items()
        }
        values["org_slug"] = org_slug
        path = prefix + route.path_format.format(**values)
        found.append(OrgUrl(route.name, path, frozenset(route.methods or {"GET", "HEAD"})))
    # Two routes may share a path (a page's GET and its form's POST): a method is allowed on the path
    # when any of them takes it.
    by_path: dict[str, frozenset[str]] = {}
    for url in found:
        by_path[url.path] = by_path.get(url.path, frozenset()) | url.methods
    return [OrgUrl(url.name, url.path, by_path[url.path]) for url in found]


ALL_ORG_URLS = org_urls()
ORG_URLS = [url for url in ALL_ORG_URLS if url.name not in TOKEN_ROUTES]


def test_the_walk_finds_the_org_routes() -> None:
    names = {url.name for url in ALL_ORG_URLS}
    assert {
        "tenancy:home",
        "tenancy:members",
        "tenancy:invite",
        "tenancy:change_role",
        "tenancy:settings",
    } <= names
    assert "/o/acme/members/1/role" in {url.path for url in ORG_URLS}


async def request(client: httpx2.AsyncClient, method: str, path: str, token: str) -> httpx2.Response:
    headers = {} if method in SAFE else {"X-CSRF-Token": token}
    # A stream (SSE) that forgot to authorise would never end: that must fail, not hang.
    with anyio.fail_after(5):
        return await client.request(
            method, path, headers=headers, data=None if method in SAFE else {"x": "1"}
        )


# One test per persona walks every URL and lists all failures at once (a test per URL would spend
# most of its time emptying tables).


async def test_outsider_gets_404_with_every_method(app: Dispatcher, personas: Personas) -> None:
    failures = []
    async with client_for(app) as outsider:
        await login(outsider, personas.outsider)
        token = await csrf_token(outsider, "/o/bravo")
        for url in ORG_URLS:
            for method in sorted(url.methods | {"POST", "DELETE"}):
                response = await request(outsider, method, url.path, token)
                expected = 404 if method in url.methods else 405
                if response.status_code != expected or "Acme" in response.text:
                    failures.append(f"{method} {url.path}: {response.status_code}")
        assert (await outsider.get("/o/bravo")).status_code == 200  # still signed in throughout
    assert failures == []


async def test_anonymous_visitor_is_sent_to_sign_in(app: Dispatcher, personas: Personas) -> None:
    failures = []
    async with client_for(app) as anonymous:
        token = await csrf_token(anonymous)
        for url in ORG_URLS:
            for method in sorted(url.methods - {"HEAD"}):
                response = await request(anonymous, method, url.path, token)
                location = httpx2.URL(response.headers.get("location", ""))
                if (response.status_code, location.path, location.params.get("next")) != (
                    303,
                    "/login",
                    url.path,
                ):
                    failures.append(f"{method} {url.path}: {response.status_code} {location}")
    assert failures == []


async def test_viewer_gets_no_admin_post_through(app: Dispatcher, personas: Personas) -> None:
    failures = []
    async with client_for(app) as viewer:
        await login(viewer, personas.viewer)
        token = await csrf_token(viewer, "/o/acme")
        for url in ORG_URLS:
            if "POST" not in url.methods or url.name in VIEWER_POSTS:
                continue
            response = await request(viewer, "POST", url.path, token)
            if response.status_code not in {403, 404}:
                failures.append(f"POST {url.path}: {response.status_code}")
    assert failures == []


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/o/acme/members/invite", {"email": "friend@example.com", "role": "viewer"}),
        ("/o/acme/members/1/role", {"role": "owner"}),
        ("/o/acme/invitations/1/revoke", {}),
        ("/o/acme/settings", {"name": "Hijacked"}),
    ],
)
async def test_viewer_gets_403_on_admin_posts(
    client: httpx2.AsyncClient, personas: Personas, path: str, data: dict[str, str]
) -> None:
    await login(client, personas.viewer)
    token = await csrf_token(client, "/o/acme")
    response = await client.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 403
    assert "This needs the admin role in this organization." in response.text
    assert "Acme Messaging" in (await client.get("/o/acme")).text


async def test_a_made_up_token_on_a_mailed_org_link_shows_nothing_of_the_org(
    app: Dispatcher, personas: Personas
) -> None:
    failures = []
    async with client_for(app) as anonymous, client_for(app) as outsider:
        await login(outsider, personas.outsider)
        for who, client in (("anonymous", anonymous), ("outsider", outsider)):
            token = await csrf_token(client, "/password/forgot")
            for url in ALL_ORG_URLS:
                if url.name not in TOKEN_ROUTES:
                    continue
                for method in sorted(url.methods - {"HEAD"}):
                    response = await request(client, method, url.path, token)
                    if response.status_code not in {400, 404} or "Acme" in response.text:
                        failures.append(f"{who} {method} {url.path}: {response.status_code}")
    assert failures == [], "a made-up token must be refused without the org's name"
