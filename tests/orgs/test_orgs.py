"""Belonging to several orgs: the /orgs page, the switcher, creating another org."""

from __future__ import annotations

import httpx2
from sqlalchemy import select

from app.db.engine import Database
from app.tenancy.models import Membership, Organization, Role
from tests.factories import Personas, add_member, login, post_form


async def test_a_user_of_two_orgs_switches_between_them(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await add_member(db, personas.org_other, personas.viewer, Role.ADMIN)
    await login(client, personas.viewer)
    listing = await client.get("/orgs")
    assert listing.status_code == 200
    assert "Acme Messaging" in listing.text
    assert "Bravo Retail" in listing.text
    acme = await client.get("/o/acme")
    assert "You are viewer here." in acme.text
    switcher = acme.text.split('data-testid="org-switcher"', 1)[1].split("</details>", 1)[0]
    assert 'href="http://testserver/o/bravo"' in switcher
    assert 'href="http://testserver/o/acme"' in switcher
    bravo = await client.get("/o/bravo")
    assert bravo.status_code == 200
    assert "You are admin here." in bravo.text
    assert ">Bravo Retail</summary>" in bravo.text


async def test_the_orgs_page_goes_straight_to_an_only_org_unless_asked_to_switch(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.viewer)
    response = await client.get("/orgs")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/o/acme")
    assert (await client.get("/orgs?switch=1")).status_code == 200


async def test_a_signed_in_user_creates_another_org_and_owns_it(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.viewer)
    response = await post_form(client, "/orgs", {"name": "Acme Messaging"}, page="/orgs?switch=1")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/o/acme-messaging")
    async with db.read() as session:
        org = (await session.scalars(select(Organization).where(Organization.slug == "acme-messaging"))).one()
        role = await session.scalar(
            select(Membership.role).where(
                Membership.org_id == org.id, Membership.user_id == personas.viewer.id
            )
        )
    assert role == "owner"
    empty = await post_form(client, "/orgs", {"name": "  "}, page="/orgs?switch=1")
    assert empty.status_code == 400
    assert "Give the organization a name." in empty.text


async def test_the_orgs_page_needs_a_signed_in_user(client: httpx2.AsyncClient) -> None:
    response = await client.get("/orgs")
    assert response.status_code == 303
    assert response.headers["location"] == "http://testserver/login?next=%2Forgs"
