"""Role changes and removals: who may do what, and an org never loses its last owner."""

from __future__ import annotations

import httpx2
from sqlalchemy import select

from app.db.engine import Database
from app.main import Dispatcher
from app.tenancy.models import Membership, Role, User
from tests.factories import Personas, add_member, client_for, create_user, login, post_form
from tests.support.membership import membership_id, remove, set_role


async def role_of(db: Database, org_id: int, user: User) -> str | None:
    async with db.read() as session:
        role: str | None = await session.scalar(
            select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user.id)
        )
    return role


async def members_page(client: httpx2.AsyncClient) -> str:
    return (await client.get("/o/acme/members")).text


async def test_owner_promotes_and_demotes(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.owner)
    assert (await set_role(client, db, personas, personas.viewer, "admin")).status_code == 303
    assert "Role changed to admin." in await members_page(client)
    assert await role_of(db, personas.org.id, personas.viewer) == "admin"
    await set_role(client, db, personas, personas.admin, "owner")
    assert await role_of(db, personas.org.id, personas.admin) == "owner"
    # With a second owner the first may step down.
    await set_role(client, db, personas, personas.owner, "viewer")
    assert await role_of(db, personas.org.id, personas.owner) == "viewer"


async def test_admin_changes_viewers_but_not_owners(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.admin)
    await set_role(client, db, personas, personas.viewer, "admin")
    assert await role_of(db, personas.org.id, personas.viewer) == "admin"
    await set_role(client, db, personas, personas.owner, "viewer")
    assert "Only an owner can grant or take away the owner role." in await members_page(client)
    assert await role_of(db, personas.org.id, personas.owner) == "owner"
    await set_role(client, db, personas, personas.admin, "owner")
    assert "Only an owner can grant or take away the owner role." in await members_page(client)
    assert await role_of(db, personas.org.id, personas.admin) == "admin"


async def test_a_role_that_does_not_exist_is_refused(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.owner)
    await set_role(client, db, personas, personas.viewer, "superuser")
    assert "Choose owner, admin or viewer." in await members_page(client)
    assert await role_of(db, personas.org.id, personas.viewer) == "viewer"


async def test_the_last_owner_cannot_step_down(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.owner)
    await set_role(client, db, personas, personas.owner, "admin")
    assert "An organization must keep at least one owner." in await members_page(client)
    assert await role_of(db, personas.org.id, personas.owner) == "owner"


async def test_the_last_owner_cannot_leave(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.owner)
    response = await remove(client, db, personas, personas.owner)
    assert response.status_code == 303
    assert "An organization must keep at least one owner." in await members_page(client)
    assert await role_of(db, personas.org.id, personas.owner) == "owner"


async def test_an_owner_may_leave_when_another_owner_remains(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    second = await create_user(db, email="second-owner@acme.example")
    await add_member(db, personas.org, second, Role.OWNER)
    await login(client, personas.owner)
    response = await remove(client, db, personas, personas.owner)
    assert response.headers["location"].endswith("/orgs")
    assert await role_of(db, personas.org.id, personas.owner) is None
    assert (await client.get("/o/acme")).status_code == 404


async def test_admin_removes_a_viewer_but_not_an_owner(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.admin)
    await remove(client, db, personas, personas.viewer)
    assert "The member is removed." in await members_page(client)
    assert await role_of(db, personas.org.id, personas.viewer) is None
    await remove(client, db, personas, personas.owner)
    assert "Only an owner can remove an owner." in await members_page(client)
    assert await role_of(db, personas.org.id, personas.owner) == "owner"


async def test_a_removed_member_loses_access_at_once(
    app: Dispatcher, personas: Personas, db: Database
) -> None:
    async with client_for(app) as viewer, client_for(app) as owner:
        await login(viewer, personas.viewer)
        assert (await viewer.get("/o/acme")).status_code == 200
        await login(owner, personas.owner)
        await remove(owner, db, personas, personas.viewer)
        assert (await viewer.get("/o/acme")).status_code == 404


async def test_a_viewer_cannot_remove_others_but_can_leave(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.viewer)
    refused = await remove(client, db, personas, personas.admin)
    assert refused.status_code == 403
    assert "Only owners and admins can do this." in refused.text
    assert await role_of(db, personas.org.id, personas.admin) == "admin"
    left = await remove(client, db, personas, personas.viewer)
    assert left.headers["location"].endswith("/orgs")
    assert await role_of(db, personas.org.id, personas.viewer) is None


async def test_a_viewer_cannot_change_roles(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.viewer)
    response = await set_role(client, db, personas, personas.viewer, "owner")
    assert response.status_code == 403
    assert "This needs the admin role in this organization." in response.text
    assert await role_of(db, personas.org.id, personas.viewer) == "viewer"


async def test_a_membership_of_another_org_is_not_found(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    foreign = await membership_id(db, personas.org_other.id, personas.outsider)
    await login(client, personas.owner)
    for action, data in (("role", {"role": "viewer"}), ("remove", {})):
        response = await post_form(
            client, f"/o/acme/members/{foreign}/{action}", data, page="/o/acme/members"
        )
        assert response.status_code == 404
    assert await role_of(db, personas.org_other.id, personas.outsider) == "owner"
