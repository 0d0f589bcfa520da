"""/staff: search across orgs, reason-gated org views, every view in the org's audit log; and a
404 for everyone who is not staff on every /staff URL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db.engine import Database
from app.events.models import Event
from app.main import Dispatcher
from tests.factories import Personas, client_for, csrf_token, login, post_form
from tests.support.staff_world import WABA_ID, World, make_world


@pytest.fixture
async def world(db: Database, personas: Personas) -> World:
    return await make_world(db, personas)


@asynccontextmanager
async def staff_client(app: Dispatcher, personas: Personas) -> AsyncIterator[httpx2.AsyncClient]:
    async with client_for(app) as client:
        await login(client, personas.staff)
        yield client


def hit_orgs(html: str) -> list[str]:
    return re.findall(r'data-testid="staff-hit" data-org="([^"]+)"', html)


async def audit_of(db: Database, org_id: int | None) -> list[AuditEntry]:
    async with db.read() as session:
        stmt = select(AuditEntry).where(
            AuditEntry.org_id.is_(None) if org_id is None else AuditEntry.org_id == org_id
        )
        return list(await session.scalars(stmt.order_by(AuditEntry.id)))


@pytest.mark.parametrize(
    "query",
    [
        WABA_ID,
        "+1 (650) 555-1111",
        "1 650 555 1111",
        "16505551111",
        "zephyr parcels",
        "Acme Support",
        "acme mess",
        "viewer@acme",
    ],
)
async def test_staff_finds_the_org_by_any_handle(
    app: Dispatcher, db: Database, personas: Personas, world: World, query: str
) -> None:
    async with staff_client(app, personas) as staff:
        page = await staff.get("/staff", params={"q": query})
    assert page.status_code == 200
    assert hit_orgs(page.text) == ["acme"]
    # Results show the WABA's card as its customer sees it.
    assert 'data-testid="waba-card"' in page.text
    assert WABA_ID in page.text
    assert "Quality" in page.text
    assert "Zephyr Parcels" in page.text
    # The org's owners see that staff looked it up, and for what.
    shown = [e for e in await audit_of(db, personas.org.id) if e.action == "staff.searched"]
    assert [(e.actor_email, e.details["q"]) for e in shown] == [("support@wabawatch.example", query)]
    assert await audit_of(db, personas.org_other.id) == []


async def test_search_without_a_match_says_so_and_is_audited(
    app: Dispatcher, db: Database, personas: Personas, world: World
) -> None:
    async with staff_client(app, personas) as staff:
        page = await staff.get("/staff", params={"q": "+44 20 7946 0000"})
    assert hit_orgs(page.text) == []
    assert 'data-testid="no-hits"' in page.text
    searches = [e for e in await audit_of(db, None) if e.action == "staff.searched"]
    assert [(e.actor_email, e.details["q"]) for e in searches] == [
        ("support@wabawatch.example", "+44 20 7946 0000")
    ]


async def test_org_views_need_a_reason_first_and_each_is_audited_for_the_owners(
    app: Dispatcher, db: Database, personas: Personas, world: World
) -> None:
    async with staff_client(app, personas) as staff:
        blocked = await staff.get("/staff/orgs/acme/events")
        assert blocked.status_code == 303
        assert blocked.headers["location"].startswith("http://testserver/staff/orgs/acme/open")
        assert await audit_of(db, personas.org.id) == []

        empty = await post_form(staff, "/staff/orgs/acme/open", {"reason": " "}, page="/staff/orgs/acme/open")
        assert empty.status_code == 400
        opened = await post_form(
            staff,
            "/staff/orgs/acme/open",
            {"reason": "ticket SUP-1234", "next": "/staff/orgs/acme/events"},
            page="/staff/orgs/acme/open",
        )
        assert opened.status_code == 303
        assert opened.headers["location"] == "/staff/orgs/acme/events"

        overview = await staff.get("/staff/orgs/acme")
        assert overview.status_code == 200
        assert WABA_ID in overview.text
        assert "SUP-1234" in overview.text
        events = await staff.get("/staff/orgs/acme/events")
        assert events.status_code == 200
        assert events.text.count('data-testid="event-row"') == 2
        async with db.read() as session:
            event_pk = await session.scalar(select(Event.id).where(Event.org_id == personas.org.id).limit(1))
        detail = await staff.get(f"/staff/orgs/acme/events/{event_pk}")
        assert detail.status_code == 200
        assert 'data-testid="event-details"' in detail.text
        # Read-only: no forms to change anything but the search.
        for html in (overview.text, events.text, detail.text):
            assert 'method="post"' not in html.replace('action="/logout"', "").split("Sign out")[-1]

        # Another org stays closed until a reason is given for it too.
        assert (await staff.get("/staff/orgs/bravo")).status_code == 303

    rows = await audit_of(db, personas.org.id)
    assert [(e.action, e.target) for e in rows] == [
        ("staff.opened_org", ""),
        ("staff.viewed", "overview"),
        ("staff.viewed", "events"),
        ("staff.viewed", f"event {event_pk}"),
    ]
    assert all(e.actor_is_staff and e.details["reason"] == "ticket SUP-1234" for e in rows)
    assert await audit_of(db, personas.org_other.id) == []

    # The org's owner sees the staff accesses in their audit page.
    async with client_for(app) as owner:
        await login(owner, personas.owner)
        page = await owner.get("/o/acme/audit", params={"action": "staff."})
    assert page.text.count('class="staff-access"') == 4
    assert "ticket SUP-1234" in page.text
    assert "wabawatch staff" in page.text


async def test_an_open_redirect_is_refused_after_the_reason(app: Dispatcher, personas: Personas) -> None:
    async with staff_client(app, personas) as staff:
        opened = await post_form(
            staff,
            "/staff/orgs/acme/open",
            {"reason": "ticket SUP-9", "next": "https://evil.example/"},
            page="/staff/orgs/acme/open",
        )
    assert opened.headers["location"] == "http://testserver/staff/orgs/acme"


async def test_unknown_org_and_event_of_another_org_are_404_for_staff(
    app: Dispatcher, personas: Personas, world: World, db: Database
) -> None:
    async with staff_client(app, personas) as staff:
        assert (await staff.get("/staff/orgs/nope")).status_code == 404
        assert (await staff.get("/staff/orgs/nope/open")).status_code == 404
        await post_form(
            staff, "/staff/orgs/bravo/open", {"reason": "ticket 7"}, page="/staff/orgs/bravo/open"
        )
        async with db.read() as session:
            event_pk = await session.scalar(select(Event.id).limit(1))
        assert (await staff.get(f"/staff/orgs/bravo/events/{event_pk}")).status_code == 404


def staff_urls(event_pk: int, app_id: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/staff"),
        ("GET", f"/staff?q={WABA_ID}"),
        ("GET", "/staff/audit"),
        ("GET", "/staff/audit.csv"),
        ("GET", "/staff/orgs/acme/open"),
        ("POST", "/staff/orgs/acme/open"),
        ("GET", "/staff/orgs/acme"),
        ("GET", "/staff/orgs/acme/events"),
        ("GET", "/staff/orgs/acme/events/stream"),
        ("GET", f"/staff/orgs/acme/events/{event_pk}"),
        ("GET", "/staff/orgs/acme/alerts"),
        ("POST", "/staff/orgs/acme/alerts/1/retry"),
        ("GET", f"/staff/apps/{app_id}"),
        ("GET", f"/staff/apps/{app_id}/deliveries/1"),
        ("POST", f"/staff/apps/{app_id}/deliveries/1/reprocess"),
    ]


async def test_everyone_but_staff_gets_404_on_every_staff_url(
    app: Dispatcher, db: Database, personas: Personas, world: World
) -> None:
    from app.staff.routes import routes as staff_routes

    async with db.read() as session:
        event_pk = int(await session.scalar(select(Event.id).limit(1)) or 0)
    urls = staff_urls(event_pk, world.app.app_id)
    # Every /staff route is walked (a new route must be added to the list above).
    walked = {(method, path.split("?")[0]) for method, path in urls}
    for route in staff_routes:
        for method in route.methods or ():
            if method != "HEAD":
                assert any(m == method and route.path_regex.match(p) for m, p in walked), (method, route.path)
    for who in (personas.owner, personas.outsider, None):
        async with client_for(app) as client:
            if who is not None:
                await login(client, who)
            token = await csrf_token(client, "/login" if who is None else "/orgs?switch=1")
            for method, path in urls:
                data = {"csrf_token": token, "reason": "ticket 1"}
                response = await (client.post(path, data=data) if method == "POST" else client.get(path))
                assert response.status_code == 404, (who, method, path, response.status_code)
    assert not [e for e in await audit_of(db, personas.org.id) if e.action.startswith("staff.")]
