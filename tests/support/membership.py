"""Membership through the org's pages, as an admin does it: invite by email and read the link from
the development outbox, change a member's role, remove a member."""

from __future__ import annotations

import re

import httpx2
from sqlalchemy import select

from app.db.engine import Database
from app.mail.models import DevMail
from app.tenancy.models import Membership, User
from tests.factories import Personas, post_form

LINK_RE = re.compile(r"http://testserver(/invitations/[A-Za-z0-9_-]+)")


async def invite(client: httpx2.AsyncClient, email: str, role: str = "viewer") -> httpx2.Response:
    return await post_form(
        client, "/o/acme/members/invite", {"email": email, "role": role}, page="/o/acme/members"
    )


async def invitation_link(db: Database, recipient: str) -> str:
    async with db.read() as session:
        mail = (await session.scalars(select(DevMail).where(DevMail.recipient == recipient))).one()
    assert mail.subject == "You are invited to Acme Messaging on wabawatch"
    match = LINK_RE.search(mail.text_body)
    assert match, mail.text_body
    return match.group(1)


async def membership_id(db: Database, org_id: int, user: User) -> int:
    async with db.read() as session:
        found = await session.scalar(
            select(Membership.id).where(Membership.org_id == org_id, Membership.user_id == user.id)
        )
    assert found is not None
    return int(found)


async def set_role(
    client: httpx2.AsyncClient, db: Database, personas: Personas, member: User, role: str
) -> httpx2.Response:
    mid = await membership_id(db, personas.org.id, member)
    return await post_form(client, f"/o/acme/members/{mid}/role", {"role": role}, page="/o/acme/members")


async def remove(
    client: httpx2.AsyncClient, db: Database, personas: Personas, member: User
) -> httpx2.Response:
    mid = await membership_id(db, personas.org.id, member)
    return await post_form(client, f"/o/acme/members/{mid}/remove", {}, page="/o/acme/members")
