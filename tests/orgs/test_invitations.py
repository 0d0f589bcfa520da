"""Inviting people by email, and what an invitation link does when it is opened."""

from __future__ import annotations

from datetime import timedelta

import httpx2
from sqlalchemy import func, select, update

from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.mail.models import DevMail
from app.main import Dispatcher
from app.tenancy.models import Invitation, Membership, Role, User
from tests.factories import PASSWORD, Personas, client_for, csrf_token, login, post_form
from tests.support.membership import LINK_RE, invitation_link, invite


async def role_in_acme(db: Database, personas: Personas, email: str) -> str | None:
    async with db.read() as session:
        role: str | None = await session.scalar(
            select(Membership.role)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email, Membership.org_id == personas.org.id)
        )
    return role


async def links_mailed_to(db: Database, recipient: str) -> list[str]:
    async with db.read() as session:
        mails = await session.scalars(
            select(DevMail).where(DevMail.recipient == recipient).order_by(DevMail.id)
        )
        return [match.group(1) for mail in mails if (match := LINK_RE.search(mail.text_body))]


async def invitation_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Invitation)) or 0)


async def test_owner_invites_a_new_person_who_creates_an_account_from_the_link(
    app: Dispatcher, personas: Personas, db: Database
) -> None:
    async with client_for(app) as owner:
        await login(owner, personas.owner)
        response = await invite(owner, " New.Person@Example.com ", "admin")
        assert response.status_code == 303
        members = await owner.get(response.headers["location"])
        assert "Invitation sent to new.person@example.com." in members.text
        assert "new.person@example.com as admin" in members.text
    path = await invitation_link(db, "new.person@example.com")
    async with client_for(app) as newcomer:
        page = await newcomer.get(path)
        assert page.status_code == 200
        assert "Join Acme Messaging" in page.text
        assert "Create account and join" in page.text
        weak = await post_form(newcomer, path, {"name": "New", "password": "short"}, page=path)
        assert weak.status_code == 400
        assert "Use at least 10 characters." in weak.text
        joined = await post_form(newcomer, path, {"name": "New Person", "password": PASSWORD}, page=path)
        assert joined.status_code == 303
        assert joined.headers["location"].endswith("/o/acme")
        home = await newcomer.get("/o/acme")
        assert "You are admin here." in home.text
    assert await role_in_acme(db, personas, "new.person@example.com") == "admin"


async def test_a_signed_in_user_of_another_org_accepts_and_keeps_both_orgs(
    app: Dispatcher, personas: Personas, db: Database
) -> None:
    async with client_for(app) as admin:
        await login(admin, personas.admin)
        assert (await invite(admin, personas.outsider.email)).status_code == 303
    path = await invitation_link(db, personas.outsider.email)
    async with client_for(app) as outsider:
        await login(outsider, personas.outsider)
        page = await outsider.get(path)
        assert f"Join as {personas.outsider.email}" in page.text
        assert (await post_form(outsider, path, {}, page=path)).status_code == 303
        assert (await outsider.get("/o/acme")).status_code == 200
        assert (await outsider.get("/o/bravo")).status_code == 200
    assert await role_in_acme(db, personas, personas.outsider.email) == "viewer"


async def test_an_existing_account_must_sign_in_before_accepting(
    app: Dispatcher, personas: Personas, db: Database
) -> None:
    async with client_for(app) as owner:
        await login(owner, personas.owner)
        await invite(owner, personas.outsider.email)
    path = await invitation_link(db, personas.outsider.email)
    async with client_for(app) as anonymous:
        page = await anonymous.get(path)
        assert "You already have an account." in page.text
        assert "Sign in</a> to accept" in page.text
        token = await csrf_token(anonymous)
        refused = await anonymous.post(path, data={"password": "attacker-chosen-pw", "csrf_token": token})
        assert refused.status_code == 400
        assert "Sign in with your account first" in refused.text
    assert await role_in_acme(db, personas, personas.outsider.email) is None


async def test_a_used_link_is_refused(app: Dispatcher, personas: Personas, db: Database) -> None:
    async with client_for(app) as owner:
        await login(owner, personas.owner)
        await invite(owner, "once@example.com")
    path = await invitation_link(db, "once@example.com")
    async with client_for(app) as first:
        assert (await post_form(first, path, {"password": PASSWORD}, page=path)).status_code == 303
    async with client_for(app) as second:
        page = await second.get(path)
        assert page.status_code == 400
        assert "This invitation has already been used." in page.text


async def test_an_expired_link_is_refused(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.owner)
    await invite(client, "late@example.com")
    path = await invitation_link(db, "late@example.com")
    async with db.transaction() as session:
        await session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    page = await client.get(path)
    assert page.status_code == 400
    assert "This invitation has expired." in page.text
    token = await csrf_token(client, "/o/acme")
    posted = await client.post(path, data={"csrf_token": token})
    assert posted.status_code == 400
    assert await role_in_acme(db, personas, personas.owner.email) == "owner"
    assert "late@example.com" not in (await client.get("/o/acme/members")).text


async def test_a_revoked_link_is_refused(app: Dispatcher, personas: Personas, db: Database) -> None:
    async with client_for(app) as admin:
        await login(admin, personas.admin)
        await invite(admin, "withdrawn@example.com")
        async with db.read() as session:
            invitation = (await session.scalars(select(Invitation))).one()
        revoked = await post_form(
            admin, f"/o/acme/invitations/{invitation.id}/revoke", {}, page="/o/acme/members"
        )
        assert revoked.status_code == 303
        assert (
            "The invitation for withdrawn@example.com is withdrawn."
            in (await admin.get("/o/acme/members")).text
        )
    path = await invitation_link(db, "withdrawn@example.com")
    async with client_for(app) as invitee:
        page = await invitee.get(path)
        assert page.status_code == 400
        assert "This invitation link is not valid." in page.text
        posted = await invitee.post(
            path, data={"password": PASSWORD, "csrf_token": await csrf_token(invitee)}
        )
        assert posted.status_code == 400
    async with db.read() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(User).where(User.email == "withdrawn@example.com")
            )
            == 0
        )


async def test_a_made_up_link_is_refused(client: httpx2.AsyncClient, personas: Personas) -> None:
    page = await client.get("/invitations/made-up-token")
    assert page.status_code == 400
    assert "This invitation link is not valid." in page.text


async def test_a_viewer_cannot_invite(client: httpx2.AsyncClient, personas: Personas, db: Database) -> None:
    await login(client, personas.viewer)
    response = await invite(client, "friend@example.com")
    assert response.status_code == 403
    assert "This needs the admin role" in response.text
    assert await invitation_count(db) == 0
    assert "Invite someone" not in (await client.get("/o/acme/members")).text


async def test_an_admin_cannot_invite_an_owner(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.admin)
    page = await client.get("/o/acme/members")
    assert 'value="owner">owner — everything' not in page.text
    response = await invite(client, "boss@example.com", "owner")
    assert response.status_code == 303
    assert "Only an owner can invite another owner." in (await client.get("/o/acme/members")).text
    assert await invitation_count(db) == 0


async def test_an_owner_can_invite_an_owner(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.owner)
    await invite(client, "cofounder@example.com", "owner")
    async with db.read() as session:
        assert (await session.scalars(select(Invitation.role))).one() == Role.OWNER.value


async def test_inviting_a_member_again_is_refused(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.owner)
    await invite(client, personas.viewer.email)
    assert f"{personas.viewer.email} is already a member." in (await client.get("/o/acme/members")).text
    assert await invitation_count(db) == 0


async def test_inviting_the_same_address_again_renews_the_one_pending_invitation(
    app: Dispatcher, client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await login(client, personas.owner)
    await invite(client, "guest@example.com", "viewer")
    [first] = await links_mailed_to(db, "guest@example.com")
    again = await invite(client, "GUEST@example.com", "admin")
    members = (await client.get(again.headers["location"])).text
    assert "Invitation sent to guest@example.com again, with a new link" in members
    assert members.count("guest@example.com as") == 1
    assert "guest@example.com as admin" in members
    assert await invitation_count(db) == 1
    [first_again, second] = await links_mailed_to(db, "guest@example.com")
    assert first_again == first
    assert second != first
    async with client_for(app) as newcomer:
        assert (await newcomer.get(first)).status_code == 400  # the earlier link no longer works
        assert (await newcomer.get(second)).status_code == 200
