"""Password reset as a person does it: ask for the mail, read its link from the development outbox,
choose a new password on the linked page."""

from __future__ import annotations

import re

import httpx2
from sqlalchemy import select

from app.db.engine import Database
from app.mail.models import DevMail
from tests.factories import post_form

NEW_PASSWORD = "a-brand-new-passphrase"


LINK_RE = re.compile(r"http://testserver(/password/reset/[A-Za-z0-9_-]+)")


async def ask_for_reset(client: httpx2.AsyncClient, address: str) -> httpx2.Response:
    response = await post_form(client, "/password/forgot", {"email": address}, page="/password/forgot")
    assert response.status_code == 200
    assert "If an account exists for that address" in response.text
    return response


async def outbox_link(db: Database, recipient: str) -> str:
    async with db.read() as session:
        mail = (await session.scalars(select(DevMail).where(DevMail.recipient == recipient))).one()
    assert mail.subject == "Reset your wabawatch password"
    match = LINK_RE.search(mail.text_body)
    assert match, mail.text_body
    return match.group(1)


async def choose_password(
    client: httpx2.AsyncClient, path: str, password: str = NEW_PASSWORD
) -> httpx2.Response:
    return await post_form(client, path, {"password": password, "password_confirm": password}, page=path)
