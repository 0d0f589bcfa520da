"""Password reset by an emailed link: through the development outbox and through a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import httpx2
from sqlalchemy import func, select, update

from app.auth.models import PasswordReset
from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.mail.models import DevMail
from app.main import Dispatcher
from app.settings import Settings
from tests.factories import PASSWORD, Personas, client_for, csrf_token, login, post_form, running_app
from tests.support.password_reset import LINK_RE, NEW_PASSWORD, ask_for_reset, choose_password, outbox_link
from tests.support.ports import free_port
from tests.support.smtp import Inbox


async def test_reset_through_the_dev_outbox_changes_the_password_and_ends_old_sessions(
    app: Dispatcher, personas: Personas, db: Database
) -> None:
    async with client_for(app) as old_session, client_for(app) as browser:
        await login(old_session, personas.viewer)
        await ask_for_reset(browser, "Viewer@acme.example ")
        path = await outbox_link(db, personas.viewer.email)
        page = await browser.get(path)
        assert page.status_code == 200
        assert "Choose a new password" in page.text
        response = await choose_password(browser, path)
        assert response.status_code == 303
        assert (await browser.get("/o/acme")).status_code == 200
        # The session from before the reset no longer counts (session epoch).
        assert (await old_session.get("/o/acme")).status_code == 303
    async with client_for(app) as fresh:
        refused = await fresh.post(
            "/login",
            data={
                "email": personas.viewer.email,
                "password": PASSWORD,
                "csrf_token": await csrf_token(fresh),
            },
        )
        assert refused.status_code == 400
        await login(fresh, personas.viewer, NEW_PASSWORD)


async def test_a_reset_link_works_once(client: httpx2.AsyncClient, personas: Personas, db: Database) -> None:
    await ask_for_reset(client, personas.viewer.email)
    path = await outbox_link(db, personas.viewer.email)
    assert (await choose_password(client, path)).status_code == 303
    again = await client.get(path)
    assert again.status_code == 400
    assert "invalid, used or expired" in again.text
    token = await csrf_token(client, "/password/forgot")
    reused = await client.post(
        path,
        data={"password": "third-password-x", "password_confirm": "third-password-x", "csrf_token": token},
    )
    assert reused.status_code == 400
    assert "invalid, used or expired" in reused.text


async def test_an_expired_reset_link_is_refused(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await ask_for_reset(client, personas.viewer.email)
    path = await outbox_link(db, personas.viewer.email)
    async with db.transaction() as session:
        await session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    page = await client.get(path)
    assert page.status_code == 400
    assert "invalid, used or expired" in page.text
    token = await csrf_token(client, "/password/forgot")
    posted = await client.post(
        path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD, "csrf_token": token}
    )
    assert posted.status_code == 400
    await login(client, personas.viewer)  # the old password still works


async def test_a_reset_link_lives_as_long_as_the_setting_says(
    client: httpx2.AsyncClient, personas: Personas, db: Database, settings: Settings
) -> None:
    before = utcnow()
    await ask_for_reset(client, personas.viewer.email)
    async with db.read() as session:
        reset = (await session.scalars(select(PasswordReset))).one()
    lifetime = (reset.expires_at - before).total_seconds()
    assert settings.password_reset_max_age_seconds <= lifetime < settings.password_reset_max_age_seconds + 30


async def test_a_forged_reset_link_is_refused(client: httpx2.AsyncClient, personas: Personas) -> None:
    page = await client.get("/password/reset/not-a-real-token")
    assert page.status_code == 400
    assert "Ask for a new one" in page.text


async def test_a_weak_or_mismatched_new_password_is_refused_and_the_link_stays_usable(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await ask_for_reset(client, personas.viewer.email)
    path = await outbox_link(db, personas.viewer.email)
    weak = await choose_password(client, path, "short")
    assert weak.status_code == 400
    assert "Use at least 10 characters." in weak.text
    differ = await post_form(
        client, path, {"password": NEW_PASSWORD, "password_confirm": "other-thing-1"}, page=path
    )
    assert differ.status_code == 400
    assert "The two passwords differ." in differ.text
    assert (await choose_password(client, path)).status_code == 303


async def test_an_unknown_email_gets_the_same_answer_and_no_mail(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    known = await ask_for_reset(client, personas.viewer.email)
    unknown = await ask_for_reset(client, "nobody@example.com")
    assert _main(known.text) == _main(unknown.text)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(DevMail)) == 1
        assert await session.scalar(select(func.count()).select_from(PasswordReset)) == 1


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


async def test_reset_mail_goes_through_a_real_smtp_server(
    inbox: Inbox, settings: Settings, personas: Personas, db: Database
) -> None:
    async with running_app(settings, smtp_url=inbox.url) as client:
        await ask_for_reset(client, personas.viewer.email)
        await ask_for_reset(client, "nobody@example.com")
        assert len(inbox.received) == 1
        mail = inbox.received[0]
        assert mail.recipients == [personas.viewer.email]
        assert mail.sender == "wabawatch@localhost"
        assert mail.message["Subject"] == "Reset your wabawatch password"
        body = mail.message.get_content()
        match = LINK_RE.search(body)
        assert match, body
        assert (await choose_password(client, match.group(1))).status_code == 303
        assert (await client.get("/o/acme")).status_code == 200
        assert (await client.get("/dev/mail")).status_code == 404  # no outbox when mail really leaves
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(DevMail)) == 0


async def test_a_mail_server_that_is_down_does_not_change_the_answer(
    settings: Settings, personas: Personas
) -> None:
    async with running_app(settings, smtp_url=f"smtp+plain://127.0.0.1:{free_port()}") as client:
        known = await ask_for_reset(client, personas.viewer.email)
        unknown = await ask_for_reset(client, "nobody@example.com")
    assert _main(known.text) == _main(unknown.text)


async def test_using_one_reset_link_spends_the_others(
    client: httpx2.AsyncClient, personas: Personas, db: Database
) -> None:
    await ask_for_reset(client, personas.viewer.email)
    await ask_for_reset(client, personas.viewer.email)
    async with db.read() as session:
        bodies = list(await session.scalars(select(DevMail.text_body).order_by(DevMail.id)))
    first, second = (match.group(1) for body in bodies if (match := LINK_RE.search(body)))
    assert first != second
    assert (await choose_password(client, second)).status_code == 303
    stale = await client.get(first)
    assert stale.status_code == 400
    assert "invalid, used or expired" in stale.text
