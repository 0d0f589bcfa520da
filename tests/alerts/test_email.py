"""Alerts by mail, end to end: a webhook becomes an event, the outbox row is written in the same
transaction, the sender mails it to a real SMTP server, and the test reads the mail."""

from __future__ import annotations

from app.alerts.models import DeliveryKind, DeliveryStatus
from app.db.engine import Database
from app.meta.models import MetaApp
from app.settings import Settings
from app.tenancy.models import Role
from app.wabas.models import Waba
from tests.factories import Personas
from tests.support.alerts import (
    Clock,
    ctx_of,
    deliveries,
    email_channel,
    name_rejected,
    parts,
    quality,
    rule,
    sender,
    webhook,
)
from tests.support.payloads import WABA_ID
from tests.support.smtp import Inbox


async def test_a_critical_event_is_mailed_with_subject_both_parts_and_a_link(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    inbox: Inbox,
    clock: Clock,
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = (await email_channel(db, ctx, personas.owner.email)).channel
    await rule(db, ctx, [channel], min_severity="critical")

    await webhook(db, meta_app, quality("DOWNGRADE", "TIER_1K"))
    [row] = await deliveries(db)
    assert (row.kind, row.status, row.channel_id) == (DeliveryKind.ALERT, DeliveryStatus.QUEUED, channel.id)

    assert await sender(db, alert_settings, clock).run_due() == 1

    [mail] = inbox.received
    assert mail.recipients == [personas.owner.email]
    subject = mail.message["Subject"]
    # The WABA (name, then id) first, so that a subject cut short still says which account.
    assert subject.startswith(
        f"[CRITICAL] Acme <Main> & Co ({WABA_ID}): +1 555-078-3881 downgraded: messaging limit "
        "1,000 conversations a day"
    )
    assert "Acme Messaging" in subject
    text, html = parts(mail.message)
    for body in (text, html):
        assert "downgraded" in body
        assert WABA_ID in body
        assert "+1 555-078-3881" in body
    link = f"http://testserver/o/acme/events/{row.event_id}"
    assert f'href="{link}"' in html
    assert link in text
    # The WABA's name comes from the org, the summary from Meta: both escaped in HTML.
    assert "Acme &lt;Main&gt; &amp; Co" in html
    assert "Acme <Main> & Co" in text
    [sent] = await deliveries(db)
    assert sent.status == DeliveryStatus.SENT
    assert sent.attempts == 1
    assert sent.latency_ms is not None


async def test_untrusted_payload_text_is_escaped_in_the_html_part(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    inbox: Inbox,
    clock: Clock,
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = (await email_channel(db, ctx, personas.admin.email)).channel
    await rule(db, ctx, [channel], min_severity="warning")

    await webhook(
        db, meta_app, name_rejected("<b>Acme & Co</b>", '<script>alert("x")</script>\r\nBcc: evil@x')
    )
    await sender(db, alert_settings, clock).run_due()

    [mail] = inbox.received
    text, html = parts(mail.message)
    assert "<script>" not in html
    assert "<b>Acme" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in html
    assert "<b>Acme & Co</b>" in text  # plain text stays as Meta sent it
    assert "\n" not in mail.message["Subject"]
    assert mail.message["Bcc"] is None
    assert mail.recipients == [personas.admin.email]


async def test_an_event_below_the_rules_severity_sends_nothing(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    inbox: Inbox,
    clock: Clock,
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = (await email_channel(db, ctx, personas.owner.email)).channel
    await rule(db, ctx, [channel], min_severity="critical")

    await webhook(db, meta_app, quality("UPGRADE", "TIER_10K"))

    assert await deliveries(db) == []
    assert await sender(db, alert_settings, clock).run_due() == 0
    assert inbox.received == []


async def test_an_unconfirmed_address_gets_no_alerts_until_it_is_confirmed(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    inbox: Inbox,
    clock: Clock,
) -> None:
    ctx = ctx_of(personas.org, personas.admin, Role.ADMIN)
    created = await email_channel(db, ctx, "oncall@elsewhere.example")
    assert created.confirm_token is not None
    assert created.channel.confirmed_at is None
    await rule(db, ctx, [created.channel], min_severity="critical")

    await webhook(db, meta_app, quality("DOWNGRADE", "TIER_1K"))
    assert await deliveries(db) == []

    from app.alerts import service

    async with db.transaction() as session:
        confirmed = await service.confirm_email_channel(
            session, org_id=personas.org.id, token=created.confirm_token
        )
    assert confirmed is not None
    await webhook(db, meta_app, quality("FLAGGED", "TIER_1K"))
    await sender(db, alert_settings, clock).run_due()
    assert [m.recipients for m in inbox.received] == [["oncall@elsewhere.example"]]


async def test_the_owners_channel_mails_every_owner_at_sending_time(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    inbox: Inbox,
    clock: Clock,
) -> None:
    from app.alerts import service

    async with db.transaction() as session:
        await service.create_default_rule(session, org_id=personas.org.id)
    await webhook(db, meta_app, quality("DOWNGRADE", "TIER_1K"))
    await webhook(db, meta_app, quality("UPGRADE", "TIER_10K"))  # info: not for the default rule

    await sender(db, alert_settings, clock).run_due()

    assert [m.recipients for m in inbox.received] == [[personas.owner.email]]


async def test_a_mail_server_that_is_down_is_retried_later(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    inbox: Inbox,
    clock: Clock,
) -> None:
    from tests.factories import settings_with
    from tests.support.ports import free_port

    ctx = ctx_of(personas.org, personas.admin)
    channel = (await email_channel(db, ctx, personas.admin.email)).channel
    await rule(db, ctx, [channel], min_severity="critical")
    await webhook(db, meta_app, quality("DOWNGRADE"))
    down = settings_with(alert_settings, smtp_url=f"smtp+plain://127.0.0.1:{free_port()}")

    await sender(db, down, clock).run_due()
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == (DeliveryStatus.QUEUED, 1)
    assert "did not take the message" in (row.last_error or "")

    clock.advance(hours=1)
    await sender(db, alert_settings, clock).run_due()
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    assert len(inbox.received) == 1
