"""The alert pages: owners and admins manage, viewers read, other orgs get 404, forms need CSRF."""

from __future__ import annotations

import re

import httpx2
import pytest
from sqlalchemy import select

from app.alerts.models import AlertChannel, AlertDelivery, AlertRule, DeliveryKind, DeliveryStatus
from app.db.engine import Database
from app.mail.models import DevMail
from app.main import Dispatcher
from app.meta.models import MetaApp
from app.settings import Settings
from app.wabas.models import Waba
from tests.factories import Personas, csrf_token, login, post_form
from tests.support.alerts import Clock, ctx_of, deliveries, email_channel, quality, rule, sender, webhook
from tests.support.clients import new_client
from tests.support.payloads import WABA_ID
from tests.support.smtp import Inbox

PAGE = "/o/acme/alerts"


async def channels(db: Database) -> list[AlertChannel]:
    async with db.read() as session:
        return list(await session.scalars(select(AlertChannel).order_by(AlertChannel.id)))


async def test_outsider_gets_404(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.outsider)
    assert (await client.get(PAGE)).status_code == 404
    assert (await client.get(PAGE + "/deliveries")).status_code == 404
    token = await csrf_token(client, "/o/bravo/alerts")
    response = await client.post(
        PAGE + "/channels/email", data={"address": "x@y.example", "csrf_token": token}
    )
    assert response.status_code == 404


async def test_viewer_reads_but_cannot_change(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await email_channel(db, ctx_of(personas.org, personas.admin), personas.admin.email)
    await login(client, personas.viewer)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert personas.admin.email in page.text
    assert "Send test" not in page.text
    response = await post_form(client, PAGE + "/channels/email", {"address": "v@acme.example"}, page=PAGE)
    assert response.status_code == 403
    assert len(await channels(db)) == 1


async def test_forms_without_the_csrf_token_are_refused(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    response = await client.post(PAGE + "/channels/email", data={"address": "a@acme.example"})
    assert response.status_code == 403
    assert await channels(db) == []


async def test_a_refused_slack_url_is_explained_and_not_saved(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    for url, words in [
        ("http://127.0.0.1:9/services/x", "must start with https://"),
        ("https://169.254.169.254/latest/meta-data/", "not allowed"),
    ]:
        response = await post_form(client, PAGE + "/channels/slack", {"url": url}, page=PAGE)
        assert response.status_code == 303
        assert words in (await client.get(PAGE)).text
    assert await channels(db) == []


async def test_an_outside_address_is_confirmed_by_its_link(
    client: httpx2.AsyncClient, app: Dispatcher, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    response = await post_form(
        client, PAGE + "/channels/email", {"address": "OnCall@Elsewhere.example"}, page=PAGE
    )
    assert response.status_code == 303
    assert "waiting for confirmation" in (await client.get(PAGE)).text
    async with db.read() as session:
        mail = (await session.scalars(select(DevMail))).one()
    assert mail.recipient == "oncall@elsewhere.example"
    match = re.search(r"http://testserver(/o/acme/alerts/confirm/\S+)", mail.text_body)
    assert match
    link = match.group(1)

    async with new_client(app) as stranger:  # not signed in
        shown = await stranger.get(link)  # a link scanner's GET changes nothing
        assert shown.status_code == 200
        assert (await channels(db))[0].confirmed_at is None
        done = await post_form(stranger, link, {}, page=link)
        assert done.status_code == 200
        assert "Confirmed" in done.text
        token = await csrf_token(stranger, "/login")
        again = await stranger.post(link, data={"csrf_token": token})
        assert again.status_code == 404  # used: nothing of the org is shown
        assert "Acme" not in again.text
        made_up = await stranger.get("/o/acme/alerts/confirm/made-up-token")
        assert made_up.status_code == 404
        assert "Acme" not in made_up.text
    assert (await channels(db))[0].confirmed_at is not None


async def test_send_test_goes_through_the_outbox_to_the_mail_server_and_the_log(
    client: httpx2.AsyncClient,
    db: Database,
    personas: Personas,
    alert_settings: Settings,
    inbox: Inbox,
    clock: Clock,
) -> None:
    await login(client, personas.admin)
    await post_form(client, PAGE + "/channels/email", {"address": personas.owner.email}, page=PAGE)
    [channel] = await channels(db)
    assert channel.confirmed_at is not None  # a member's verified address needs no link

    response = await post_form(client, f"{PAGE}/channels/{channel.id}/test", {}, page=PAGE)
    assert response.status_code == 303
    [row] = await deliveries(db)
    assert (row.kind, row.status) == (DeliveryKind.TEST, DeliveryStatus.QUEUED)
    await sender(db, alert_settings, clock).run_due()

    [mail] = inbox.received
    assert mail.recipients == [personas.owner.email]
    assert "Test alert from wabawatch" in mail.message["Subject"]
    log = await client.get(PAGE + "/deliveries")
    assert f'data-delivery="{row.id}" data-status="sent"' in log.text


async def test_a_failed_delivery_is_retried_by_hand(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    channel = (await email_channel(db, ctx_of(personas.org, personas.admin), personas.admin.email)).channel
    other = (
        await email_channel(db, ctx_of(personas.org_other, personas.outsider), personas.outsider.email)
    ).channel
    async with db.transaction() as session:
        ours = AlertDelivery(
            org_id=personas.org.id,
            channel_id=channel.id,
            kind="test",
            status="failed",
            attempts=1,
            max_attempts=1,
            group_count=0,
            payload={"title": "t"},
            run_at=channel.created_at,
            last_error="boom",
        )
        theirs = AlertDelivery(
            org_id=personas.org_other.id,
            channel_id=other.id,
            kind="test",
            status="failed",
            attempts=1,
            max_attempts=1,
            group_count=0,
            payload={"title": "t"},
            run_at=channel.created_at,
            last_error="boom",
        )
        session.add_all([ours, theirs])
    await login(client, personas.admin)
    log = await client.get(PAGE + "/deliveries?status=failed")
    assert "boom" in log.text
    assert "Retry" in log.text

    page = PAGE + "/deliveries"
    assert (await post_form(client, f"{page}/{theirs.id}/retry", {}, page=page)).status_code == 404
    assert (await post_form(client, f"{page}/{ours.id}/retry", {}, page=page)).status_code == 303
    rows = {r.id: r for r in await deliveries(db)}
    assert (rows[ours.id].status, rows[ours.id].attempts) == (DeliveryStatus.QUEUED, 0)
    assert rows[theirs.id].status == DeliveryStatus.FAILED


async def test_admin_builds_a_rule_from_the_form(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    channel = (await email_channel(db, ctx_of(personas.org, personas.admin), personas.admin.email)).channel
    await login(client, personas.admin)
    token = await csrf_token(client, PAGE)
    response = await client.post(
        PAGE + "/rules",
        data={
            "csrf_token": token,
            "name": "PIN resets",
            "min_severity": "warning",
            "fields": "security",
            "kinds": "pin_reset_request, pin_changed",
            "channel": str(channel.id),
            "throttle_minutes": "5",
        },
    )
    assert response.status_code == 303
    async with db.read() as session:
        saved = (await session.scalars(select(AlertRule))).one()
    assert (saved.fields, saved.kinds, saved.min_severity, saved.throttle_minutes) == (
        ["security"],
        ["pin_reset_request", "pin_changed"],
        1,
        5,
    )
    page = await client.get(PAGE)
    assert "PIN resets" in page.text


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"channel": "abc"}, "&#39;abc&#39; is not a number."),
        ({"throttle_minutes": "soon"}, "&#39;soon&#39; is not a number."),
        ({"throttle_minutes": "5000"}, "The grouping window is between 0 and 1440 minutes."),
        ({"name": "  "}, "Give the rule a name."),
    ],
)
async def test_a_refused_rule_comes_back_in_its_form_with_the_reason(
    client: httpx2.AsyncClient, db: Database, personas: Personas, fields: dict[str, str], error: str
) -> None:
    channel = (await email_channel(db, ctx_of(personas.org, personas.admin), personas.admin.email)).channel
    await login(client, personas.admin)
    sent = {"name": "PIN resets", "kinds": "pin_changed", "channel": str(channel.id), **fields}
    response = await client.post(PAGE + "/rules", data={**sent, "csrf_token": await csrf_token(client, PAGE)})
    assert response.status_code == 400
    form = response.text.split('id="add-rule"', 1)[1].split("</form>", 1)[0]
    assert f'data-testid="rule-error">{error}</p>' in form
    assert 'value="pin_changed"' in form  # what was typed is kept
    async with db.read() as session:
        assert (await session.scalars(select(AlertRule))).all() == []


async def test_a_new_org_starts_with_critical_events_to_its_owners(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.viewer)
    response = await post_form(client, "/orgs", {"name": "Fresh Start"}, page="/orgs?switch=1")
    assert response.status_code == 303
    page = await client.get("/o/fresh-start/alerts")
    assert "Critical events" in page.text
    assert "critical or worse" in page.text
    assert "Owners (by email)" in page.text


async def test_the_delivery_log_names_the_waba_and_the_number_of_each_alert(
    client: httpx2.AsyncClient, db: Database, personas: Personas, meta_app: MetaApp, waba: Waba
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = (await email_channel(db, ctx, personas.owner.email)).channel
    await rule(db, ctx, [channel], min_severity="warning")
    await webhook(db, meta_app, quality("DOWNGRADE", "TIER_1K"))
    [row] = await deliveries(db)
    await login(client, personas.viewer)
    log = (await client.get(PAGE + "/deliveries")).text
    cell = re.search(r'data-testid="delivery-waba">(.*?)</td>', log, flags=re.S)
    assert cell is not None
    shown = " ".join(re.sub(r"<[^>]+>", " ", cell.group(1)).split())
    assert shown == f"Acme &lt;Main&gt; &amp; Co {WABA_ID} +1 555-078-3881"
    assert f'data-delivery="{row.id}"' in log
