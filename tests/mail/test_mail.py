"""Mail leaves through SMTP when SMTP_URL is set, else it waits in the development outbox."""

from __future__ import annotations

import re

import httpx2
import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from app.db.engine import Database
from app.mail.models import DevMail
from app.mail.service import SmtpTarget
from app.main import Dispatcher
from app.settings import Settings
from app.tenancy.models import Invitation, Organization
from tests.factories import PASSWORD, Personas, client_for, login, post_form, running_app
from tests.support.ports import free_port
from tests.support.smtp import Inbox

LINK_RE = re.compile(r"http://testserver(/invitations/[A-Za-z0-9_-]+)")
STRONG_SECRET = "Zb3v0Qm9x7Lr2Tq8Wn5Kc1Hs6Jd4Fg0Ya9Ue7Ip3Oo2"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mailer:p%40ss@smtp.example.com", ("smtp.example.com", 587, "mailer", "p@ss", False, True)),
        ("smtps://smtp.example.com", ("smtp.example.com", 465, None, None, True, False)),
        ("smtp+plain://127.0.0.1:2525", ("127.0.0.1", 2525, None, None, False, False)),
    ],
)
def test_smtp_url_forms(url: str, expected: tuple[object, ...]) -> None:
    target = SmtpTarget.parse(url)
    assert (
        target.hostname, target.port, target.username, target.password, target.use_tls, target.start_tls
    ) == expected  # fmt: skip


@pytest.mark.parametrize("url", ["http://smtp.example.com", "smtp://", "mail.example.com:25"])
def test_a_bad_smtp_url_gets_a_clear_error(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP_URL must look like smtp://user:password@host:587"):
        SmtpTarget.parse(url)


async def test_an_invitation_is_mailed_through_a_real_smtp_server(
    inbox: Inbox, settings: Settings, personas: Personas, db: Database
) -> None:
    async with running_app(settings, smtp_url=inbox.url) as owner:
        await login(owner, personas.owner)
        response = await post_form(
            owner,
            "/o/acme/members/invite",
            {"email": "Guest@Example.com", "role": "viewer"},
            page="/o/acme/members",
        )
        assert "Invitation sent to guest@example.com." in (await owner.get(response.headers["location"])).text
    [mail] = inbox.received
    assert mail.recipients == ["guest@example.com"]
    assert mail.message["Subject"] == "You are invited to Acme Messaging on wabawatch"
    body = mail.message.get_content()
    assert f"{personas.owner.email} invites you to join Acme Messaging on wabawatch as viewer." in body
    assert "the link works for 7 days" in body
    match = LINK_RE.search(body)
    assert match, body
    async with running_app(settings, smtp_url=inbox.url) as guest:
        path = match.group(1)
        joined = await post_form(guest, path, {"password": PASSWORD}, page=path)
        assert joined.status_code == 303
        assert (await guest.get("/o/acme")).status_code == 200


async def test_an_invitation_that_cannot_be_mailed_says_so(
    settings: Settings, personas: Personas, db: Database
) -> None:
    port = free_port()  # nothing listens there
    async with running_app(settings, smtp_url=f"smtp+plain://127.0.0.1:{port}") as owner:
        await login(owner, personas.owner)
        response = await post_form(
            owner, "/o/acme/members/invite", {"email": "guest@example.com"}, page="/o/acme/members"
        )
        assert response.status_code == 303
        page = (await owner.get("/o/acme/members")).text
    assert "The invitation for guest@example.com is saved, but the mail server at" in page
    assert f"127.0.0.1:{port} did not take the message" in page
    assert "Withdraw it and invite again once mail works." in page
    assert "guest@example.com as viewer" in page  # still pending, so it can be withdrawn


async def test_the_dev_outbox_shows_mail_escaped_to_staff(
    app: Dispatcher, client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Organization).where(Organization.id == personas.org.id).values(name="<b>Acme</b>")
        )
    await login(client, personas.owner)
    await post_form(client, "/o/acme/members/invite", {"email": "guest@example.com"}, page="/o/acme/members")
    async with client_for(app) as anonymous:
        assert (await anonymous.get("/dev/mail")).status_code == 303
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        page = await staff.get("/dev/mail")
    assert page.status_code == 200
    assert "As staff you see every mail." in page.text
    assert "You are invited to &lt;b&gt;Acme&lt;/b&gt; on wabawatch" in page.text
    assert "<b>Acme</b>" not in page.text
    async with db.read() as session:
        token_digest = (await session.scalars(select(Invitation.token_digest))).one()
        stored = (await session.scalars(select(DevMail))).one()
    assert token_digest not in stored.text_body  # the mail has the token, the database only its digest
    link = LINK_RE.search(stored.text_body)
    assert link is not None
    assert f'href="http://testserver{link.group(1)}"' in page.text


async def test_a_user_sees_only_the_mail_addressed_to_them(
    app: Dispatcher, client: httpx2.AsyncClient, personas: Personas
) -> None:
    """Sign-up is open by default: another org's invitation and reset links are not theirs to read."""
    await login(client, personas.owner)
    await post_form(client, "/o/acme/members/invite", {"email": "guest@example.com"}, page="/o/acme/members")
    async with client_for(app) as outsider:
        await login(outsider, personas.outsider)
        await post_form(
            outsider, "/o/bravo/members/invite", {"email": "OWNER@acme.example"}, page="/o/bravo/members"
        )
        theirs = await outsider.get("/dev/mail")
    assert theirs.status_code == 200
    assert "You see the mail addressed to you." in theirs.text
    assert "guest@example.com" not in theirs.text
    assert "Nothing yet." in theirs.text
    own = await client.get("/dev/mail")
    assert "→ guest@example.com" not in own.text  # (the page's toast still says the invitation went)
    assert "You are invited to Bravo Retail on wabawatch" in own.text  # addressed to the owner, any case


async def test_there_is_no_outbox_in_production(settings: Settings, personas: Personas) -> None:
    async with running_app(
        settings,
        env="production",
        base_url="https://dash.example.com",
        secret_key=SecretStr(STRONG_SECRET),
        password_hash_fast=False,
    ) as client:
        assert (await client.get("/dev/mail")).status_code == 404
