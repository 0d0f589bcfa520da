"""One session record per signed-in browser: signing out ends only that browser's session, and the
account page lists and ends the user's own sessions."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx2
from itsdangerous import TimestampSigner
from sqlalchemy import select, update

from app.db.engine import Database
from app.lib.crypto import token_digest
from app.lib.timeutil import utcnow
from app.main import Dispatcher
from app.settings import Settings
from app.tenancy.browsers import TOUCH_EVERY
from app.tenancy.models import User, UserSession
from tests.factories import PASSWORD, Personas, client_for, csrf_token, login, post_form
from tests.support.password_reset import ask_for_reset, choose_password, outbox_link

COOKIE = "wabawatch_session"
PAGE = "/account/sessions"


def cookie_payload(client: httpx2.AsyncClient, settings: Settings) -> dict[str, object]:
    signer = TimestampSigner(settings.secret_key.get_secret_value())
    payload: dict[str, object] = json.loads(base64.b64decode(signer.unsign(client.cookies[COOKIE].encode())))
    return payload


def signed_cookie(payload: dict[str, object], settings: Settings) -> str:
    signer = TimestampSigner(settings.secret_key.get_secret_value())
    return signer.sign(base64.b64encode(json.dumps(payload).encode())).decode()


async def record_of(db: Database, client: httpx2.AsyncClient, settings: Settings) -> UserSession:
    raw = cookie_payload(client, settings)["sid"]
    assert isinstance(raw, str)
    async with db.read() as session:
        return (
            await session.scalars(select(UserSession).where(UserSession.token_digest == token_digest(raw)))
        ).one()


async def records_of(db: Database, user: User) -> list[UserSession]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
            )
        )


async def test_signing_out_on_one_browser_keeps_the_others_signed_in(
    app: Dispatcher, personas: Personas
) -> None:
    async with client_for(app) as laptop, client_for(app) as phone:
        await login(laptop, personas.owner)
        await login(phone, personas.owner)
        response = await post_form(laptop, "/logout", {}, page="/o/acme")
        assert response.status_code == 303
        assert (await laptop.get("/o/acme")).status_code == 303
        assert (await phone.get("/o/acme")).status_code == 200


async def test_sign_in_records_the_browser_and_stores_only_a_digest_of_the_session_id(
    app: Dispatcher, personas: Personas, db: Database, settings: Settings
) -> None:
    async with client_for(app, address="198.51.100.30") as browser:
        browser.headers["user-agent"] = "Mozilla/5.0 " + "x" * 500
        await login(browser, personas.viewer)
        raw = cookie_payload(browser, settings)["sid"]
        record = await record_of(db, browser, settings)
    assert isinstance(raw, str)
    assert record.user_id == personas.viewer.id
    assert record.token_digest != raw
    assert (record.address, record.revoked_at) == ("198.51.100.30", None)
    assert record.user_agent.startswith("Mozilla/5.0 x")
    assert len(record.user_agent) == 200


async def test_a_cookie_with_the_right_user_and_epoch_but_no_live_record_does_not_sign_in(
    client: httpx2.AsyncClient, personas: Personas, settings: Settings
) -> None:
    await login(client, personas.owner)
    payload = cookie_payload(client, settings)
    for forged in (
        {k: v for k, v in payload.items() if k != "sid"},
        {**payload, "sid": "made-up-session-id"},
    ):
        client.cookies.clear()
        client.cookies.set(COOKIE, signed_cookie(forged, settings))
        assert (await client.get("/o/acme")).status_code == 303
    client.cookies.clear()
    client.cookies.set(COOKIE, signed_cookie(payload, settings))
    assert (await client.get("/o/acme")).status_code == 200


async def test_a_session_id_of_another_user_does_not_sign_in_as_this_one(
    app: Dispatcher, personas: Personas, settings: Settings
) -> None:
    async with client_for(app) as owner, client_for(app) as viewer:
        await login(owner, personas.owner)
        await login(viewer, personas.viewer)
        viewer_sid = cookie_payload(viewer, settings)["sid"]
        forged = {**cookie_payload(owner, settings), "sid": viewer_sid}
        owner.cookies.clear()
        owner.cookies.set(COOKIE, signed_cookie(forged, settings))
        assert (await owner.get("/o/acme")).status_code == 303


async def test_a_record_unused_for_the_session_lifetime_no_longer_counts(
    client: httpx2.AsyncClient, personas: Personas, db: Database, settings: Settings
) -> None:
    await login(client, personas.owner)
    record = await record_of(db, client, settings)
    for unused, status in (
        (settings.session_max_age_seconds - 60, 200),
        (settings.session_max_age_seconds + 60, 303),
    ):
        async with db.transaction() as session:
            await session.execute(
                update(UserSession)
                .where(UserSession.id == record.id)
                .values(last_seen_at=utcnow() - timedelta(seconds=unused))
            )
        assert (await client.get("/o/acme")).status_code == status


async def test_last_seen_is_written_at_most_every_few_minutes(
    client: httpx2.AsyncClient, personas: Personas, db: Database, settings: Settings
) -> None:
    await login(client, personas.owner)
    record = await record_of(db, client, settings)
    for ago, written in (
        (TOUCH_EVERY - timedelta(minutes=1), False),
        (TOUCH_EVERY + timedelta(minutes=1), True),
    ):
        before = utcnow() - ago
        async with db.transaction() as session:
            await session.execute(
                update(UserSession).where(UserSession.id == record.id).values(last_seen_at=before)
            )
        assert (await client.get("/o/acme")).status_code == 200
        seen = (await record_of(db, client, settings)).last_seen_at
        assert (seen > before + timedelta(seconds=30)) is written


async def test_a_password_reset_revokes_every_record_but_the_new_one(
    app: Dispatcher, personas: Personas, db: Database
) -> None:
    async with client_for(app) as old, client_for(app) as browser:
        await login(old, personas.viewer)
        await ask_for_reset(browser, personas.viewer.email)
        assert (
            await choose_password(browser, await outbox_link(db, personas.viewer.email))
        ).status_code == 303
        page = await browser.get(PAGE)
    records = await records_of(db, personas.viewer)
    assert len(records) == 2
    assert records[0].revoked_at is not None
    assert records[1].revoked_at is None
    assert page.text.count('data-testid="session-') == 1


async def test_the_account_page_lists_the_users_sessions_and_marks_this_browser(
    app: Dispatcher, personas: Personas, db: Database, settings: Settings
) -> None:
    async with (
        client_for(app, address="203.0.113.5") as laptop,
        client_for(app, address="203.0.113.6") as phone,
    ):
        laptop.headers["user-agent"] = "Laptop <script>alert(1)</script>"
        phone.headers["user-agent"] = "Phone Browser"
        await login(laptop, personas.owner)
        await login(phone, personas.owner)
        laptop_record = await record_of(db, laptop, settings)
        page = await phone.get(PAGE)
    assert page.status_code == 200
    assert "203.0.113.5" in page.text
    assert "203.0.113.6" in page.text
    assert "Laptop &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert page.text.count('data-testid="this-browser"') == 1
    phone_row = page.text.split('data-testid="session-')[1]
    assert not phone_row.startswith(str(laptop_record.id))  # most recently seen first: the phone
    assert "Phone Browser" in phone_row.split("</tr>")[0]
    assert "(this browser)" in phone_row.split("</tr>")[0]


async def test_signing_out_another_session_from_the_account_page(
    app: Dispatcher, personas: Personas, db: Database, settings: Settings
) -> None:
    async with client_for(app) as laptop, client_for(app) as phone:
        await login(laptop, personas.owner)
        await login(phone, personas.owner)
        laptop_record = await record_of(db, laptop, settings)
        response = await post_form(phone, f"{PAGE}/{laptop_record.id}/revoke", {}, page=PAGE)
        assert response.status_code == 303
        assert response.headers["location"].endswith(PAGE)
        assert (await laptop.get("/o/acme")).status_code == 303
        assert (await phone.get("/o/acme")).status_code == 200
        # Already ended: nothing left to sign out.
        again = await post_form(phone, f"{PAGE}/{laptop_record.id}/revoke", {}, page=PAGE)
        assert again.status_code == 404


async def test_signing_out_this_browser_from_the_account_page_signs_it_out(
    client: httpx2.AsyncClient, personas: Personas, db: Database, settings: Settings
) -> None:
    await login(client, personas.owner)
    record = await record_of(db, client, settings)
    response = await post_form(client, f"{PAGE}/{record.id}/revoke", {}, page=PAGE)
    assert response.status_code == 303
    assert response.headers["location"].endswith("/login")
    assert (await client.get("/o/acme")).status_code == 303


async def test_signing_out_of_all_other_sessions_keeps_this_one(
    app: Dispatcher, personas: Personas, db: Database
) -> None:
    async with client_for(app) as laptop, client_for(app) as phone, client_for(app) as tablet:
        for browser in (laptop, phone, tablet):
            await login(browser, personas.owner)
        async with client_for(app) as colleague:
            await login(colleague, personas.admin)
            response = await post_form(phone, f"{PAGE}/revoke-others", {}, page=PAGE)
            assert response.status_code == 303
            assert (await phone.get("/o/acme")).status_code == 200
            assert (await laptop.get("/o/acme")).status_code == 303
            assert (await tablet.get("/o/acme")).status_code == 303
            # Another user's sessions are not touched.
            assert (await colleague.get("/o/acme")).status_code == 200
    assert [r.revoked_at is None for r in await records_of(db, personas.owner)] == [False, True, False]


async def test_another_users_session_is_neither_shown_nor_revocable(
    app: Dispatcher, personas: Personas, db: Database, settings: Settings
) -> None:
    async with client_for(app) as owner, client_for(app) as outsider:
        owner.headers["user-agent"] = "Owner Browser"
        await login(owner, personas.owner)
        await login(outsider, personas.outsider)
        owner_record = await record_of(db, owner, settings)
        page = await outsider.get(PAGE)
        assert page.status_code == 200
        assert "Owner Browser" not in page.text
        assert f'data-testid="session-{owner_record.id}"' not in page.text
        response = await post_form(outsider, f"{PAGE}/{owner_record.id}/revoke", {}, page=PAGE)
        assert response.status_code == 404
        assert (await owner.get("/o/acme")).status_code == 200
        assert (await record_of(db, owner, settings)).revoked_at is None


async def test_session_forms_need_the_csrf_token(
    client: httpx2.AsyncClient, personas: Personas, db: Database, settings: Settings
) -> None:
    await login(client, personas.owner)
    record = await record_of(db, client, settings)
    for path in (f"{PAGE}/{record.id}/revoke", f"{PAGE}/revoke-others"):
        assert (await client.post(path)).status_code == 403
        assert (await client.post(path, data={"csrf_token": "forged"})).status_code == 403
    assert (await client.get("/o/acme")).status_code == 200
    assert (await record_of(db, client, settings)).revoked_at is None
    assert (await client.get(f"{PAGE}/{record.id}/revoke")).status_code == 405


async def test_the_account_page_is_for_signed_in_users_only(client: httpx2.AsyncClient) -> None:
    response = await client.get(PAGE)
    assert response.status_code == 303
    assert "/login" in response.headers["location"]
    token = await csrf_token(client)
    refused = await client.post(f"{PAGE}/revoke-others", data={"csrf_token": token})
    assert refused.status_code == 303
    assert "/login" in refused.headers["location"]


async def test_signing_in_again_in_the_same_browser_replaces_its_session(
    client: httpx2.AsyncClient, personas: Personas, db: Database, settings: Settings
) -> None:
    await login(client, personas.owner)
    first = cookie_payload(client, settings)
    again = await post_form(
        client, "/login", {"email": personas.owner.email, "password": PASSWORD}, page="/o/acme"
    )
    assert again.status_code == 303
    assert [r.revoked_at is None for r in await records_of(db, personas.owner)] == [False, True]
    client.cookies.clear()
    client.cookies.set(COOKIE, signed_cookie(first, settings))
    assert (await client.get("/o/acme")).status_code == 303


async def test_every_page_links_to_the_sessions_page(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.viewer)
    page = await client.get("/o/acme")
    assert f'href="http://testserver{PAGE}" data-testid="sessions-link"' in page.text


async def test_the_sessions_page_names_browsers_in_words(app: Dispatcher, personas: Personas) -> None:
    chrome = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    )
    async with client_for(app) as browser:
        browser.headers["user-agent"] = chrome
        await login(browser, personas.viewer)
        page = (await browser.get("/account/sessions")).text
    assert "Chrome 131 on Mac OS X 10.15" in page
    assert f">{chrome}<" not in page  # the raw string is only the hover title
