"""Retention purges exactly what is due: delivery bodies past their org's period once nothing of
them waits for the worker, messages events and changes past theirs, old sign-in attempts and
long-ended sessions; account events stay."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import httpx2
from sqlalchemy import select, update

from app.audit.models import AuditEntry
from app.auth.models import LoginAttempt
from app.db.engine import Database
from app.events.models import Event
from app.lib.crypto import token_digest
from app.main import Dispatcher
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.retention.models import RetentionPolicy
from app.retention.tasks import PeriodicPurge, purge_all
from app.settings import Settings
from app.tenancy.models import UserSession
from app.webhooks.models import WebhookChange, WebhookDelivery
from tests.factories import Personas, client_for, create_meta_app, login, post_form
from tests.support.payloads import body, changes_of, entry
from tests.support.rows import register, store_delivery

ACME_WABA = "102290129340398"
BRAVO_WABA = "200000000000001"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_times = itertools.count(1_700_000_000)


async def delivered(db: Database, app: MetaApp, waba: str, fixture_name: str) -> int:
    """One delivery of one change (unique by its entry time), stored as the receiver stores it."""
    return await store_delivery(db, app, body(entry(waba, changes_of(fixture_name), time=next(_times))))


async def age(db: Database, delivery_id: int, days: float) -> None:
    """Moves a processed delivery, its changes and their events ``days`` before NOW."""
    when = NOW - timedelta(days=days)
    async with db.transaction() as session:
        await session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(received_at=when)
        )
        await session.execute(
            update(WebhookChange).where(WebhookChange.delivery_id == delivery_id).values(received_at=when)
        )
        changes = select(WebhookChange.id).where(WebhookChange.delivery_id == delivery_id)
        await session.execute(update(Event).where(Event.change_id.in_(changes)).values(occurred_at=when))


async def bodies(db: Database) -> dict[int, bool]:
    async with db.read() as session:
        rows = await session.execute(select(WebhookDelivery.id, WebhookDelivery.body.is_not(None)))
        return {i: bool(kept) for i, kept in rows}


async def event_deliveries(db: Database) -> set[int]:
    async with db.read() as session:
        rows = await session.scalars(
            select(WebhookChange.delivery_id).join(Event, Event.change_id == WebhookChange.id)
        )
        return set(rows)


async def test_purges_exactly_what_is_due(db: Database, personas: Personas, settings: Settings) -> None:
    acme_app = await create_meta_app(db, org_id=personas.org.id)
    bravo_app = await create_meta_app(db, org_id=personas.org_other.id, app_id="777000")
    await register(db, personas.org, acme_app, ACME_WABA)
    await register(db, personas.org_other, bravo_app, BRAVO_WABA)
    async with db.transaction() as session:  # Acme keeps deliveries 10 days and messages 3 days.
        session.add(RetentionPolicy(org_id=personas.org.id, deliveries_days=10, messages_days=3))

    account, messages = "security__pin_reset_request", "messages__status_failed"
    a_old = await delivered(db, acme_app, ACME_WABA, account)  # 11 days: body goes, event stays
    a_young = await delivered(db, acme_app, ACME_WABA, account)  # 9 days: kept
    a_waiting = await delivered(db, acme_app, ACME_WABA, account)  # 11 days, a change still pending
    a_msg_old = await delivered(db, acme_app, ACME_WABA, messages)  # 4 days: event and change go
    a_msg_young = await delivered(db, acme_app, ACME_WABA, messages)  # 2 days: kept
    b_mid = await delivered(db, bravo_app, BRAVO_WABA, account)  # 11 days: within the default 30
    b_old = await delivered(db, bravo_app, BRAVO_WABA, account)  # 31 days: body goes
    b_msg_mid = await delivered(db, bravo_app, BRAVO_WABA, messages)  # 4 days: within the default 7
    b_msg_old = await delivered(db, bravo_app, BRAVO_WABA, messages)  # 8 days: goes
    await Processor(db).run_until_idle()
    a_unprocessed = await delivered(db, acme_app, ACME_WABA, account)  # 11 days, never processed
    for delivery_id, days in [
        (a_old, 11),
        (a_young, 9),
        (a_waiting, 11),
        (a_msg_old, 4),
        (a_msg_young, 2),
        (b_mid, 11),
        (b_old, 31),
        (b_msg_mid, 4),
        (b_msg_old, 8),
        (a_unprocessed, 11),
    ]:
        await age(db, delivery_id, days)
    async with db.transaction() as session:
        await session.execute(
            update(WebhookChange).where(WebhookChange.delivery_id == a_waiting).values(status="pending")
        )
    with_events = await event_deliveries(db)
    assert with_events == {
        a_old,
        a_young,
        a_waiting,
        a_msg_old,
        a_msg_young,
        b_mid,
        b_old,
        b_msg_mid,
        b_msg_old,
    }

    purged = await purge_all(db, settings, now=NOW, batch=2)  # small batches: several rounds

    assert (purged.bodies, purged.events, purged.changes) == (2, 2, 2)
    kept = await bodies(db)
    assert {i for i, has_body in kept.items() if not has_body} == {a_old, b_old}
    assert len(kept) == 10  # rows stay: only bodies go
    assert await event_deliveries(db) == with_events - {a_msg_old, b_msg_old}
    async with db.read() as session:
        message_changes = set(
            await session.scalars(select(WebhookChange.delivery_id).where(WebhookChange.field == "messages"))
        )
    assert message_changes == {a_msg_young, b_msg_mid}
    # Nothing more is due: a second run purges nothing.
    again = await purge_all(db, settings, now=NOW)
    assert again.bodies + again.events + again.changes == 0


async def test_the_worker_pass_runs_hourly_in_batches(
    db: Database, personas: Personas, settings: Settings
) -> None:
    app = await create_meta_app(db, org_id=personas.org.id)
    await register(db, personas.org, app, ACME_WABA)
    ids = [await delivered(db, app, ACME_WABA, "security__pin_reset_request") for _ in range(3)]
    await Processor(db).run_until_idle()
    for delivery_id in ids:
        await age(db, delivery_id, 40)
    clock = [NOW]
    purge = PeriodicPurge(db, settings, batch=2, clock=lambda: clock[0])
    assert await purge.run() == 2  # a full batch: the worker calls again at once
    assert await purge.run() == 1  # the rest; the round is over
    later = await delivered(db, app, ACME_WABA, "security__pin_reset_request")
    await Processor(db).run_until_idle()
    await age(db, later, 40)
    assert await purge.run() == 0  # not before an hour has passed
    clock[0] = NOW + timedelta(hours=1)
    assert await purge.run() == 1


async def test_admin_sets_retention_viewer_only_reads(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    page = "/o/acme/settings/retention"
    await login(client, personas.admin)
    shown = await client.get(page)
    assert "30 days" in shown.text
    assert "7 days" in shown.text
    bad = await post_form(client, page, {"deliveries_days": "0", "messages_days": "7"}, page=page)
    assert bad.status_code == 400
    assert "from 1 to 3650" in bad.text
    saved = await post_form(client, page, {"deliveries_days": "14", "messages_days": "2"}, page=page)
    assert saved.status_code == 303
    async with db.read() as session:
        policy = await session.scalar(select(RetentionPolicy))
        logged = await session.scalar(select(AuditEntry).where(AuditEntry.action == "retention.changed"))
    assert policy is not None
    assert (policy.org_id, policy.deliveries_days, policy.messages_days) == (personas.org.id, 14, 2)
    assert logged is not None
    assert logged.details == {"deliveries_days": "30 -> 14", "messages_days": "7 -> 2"}


async def test_viewer_cannot_change_retention_and_outsider_gets_404(
    app: Dispatcher, personas: Personas
) -> None:
    page = "/o/acme/settings/retention"
    async with client_for(app) as viewer, client_for(app) as outsider:
        await login(viewer, personas.viewer)
        await login(outsider, personas.outsider)
        assert "30 days" in (await viewer.get(page)).text
        refused = await post_form(viewer, page, {"deliveries_days": "1", "messages_days": "1"}, page=page)
        assert refused.status_code == 403
        assert (await outsider.get(page)).status_code == 404


async def test_sign_in_attempts_older_than_30_days_are_deleted(db: Database, settings: Settings) -> None:
    async with db.transaction() as session:
        for days in (31, 40, 29, 1):
            session.add(
                LoginAttempt(
                    email=f"{days}@example.com",
                    address="203.0.113.7",
                    succeeded=False,
                    created_at=NOW - timedelta(days=days),
                )
            )

    purged = await purge_all(db, settings, now=NOW, batch=1)

    assert purged.logins == 2
    async with db.read() as session:
        left = set(await session.scalars(select(LoginAttempt.email)))
    assert left == {"29@example.com", "1@example.com"}


async def test_sign_in_attempts_stay_as_long_as_a_longer_throttle_window(
    db: Database, settings: Settings
) -> None:
    long_window = settings.model_copy(update={"login_failure_window_seconds": 60 * 86400})
    async with db.transaction() as session:
        session.add(
            LoginAttempt(
                email="a@example.com",
                address="203.0.113.7",
                succeeded=False,
                created_at=NOW - timedelta(days=45),
            )
        )
    assert (await purge_all(db, long_window, now=NOW)).logins == 0
    assert (await purge_all(db, settings, now=NOW)).logins == 1


async def test_session_records_ended_more_than_30_days_ago_are_deleted(
    db: Database, settings: Settings, personas: Personas
) -> None:
    lifetime = timedelta(seconds=settings.session_max_age_seconds)
    rows = {
        "revoked-31": (NOW - timedelta(days=40), NOW - timedelta(days=31)),
        "revoked-29": (NOW - timedelta(days=40), NOW - timedelta(days=29)),
        "expired-31": (NOW - lifetime - timedelta(days=31), None),
        "expired-29": (NOW - lifetime - timedelta(days=29), None),
        "live": (NOW - timedelta(hours=1), None),
    }
    async with db.transaction() as session:
        for name, (seen, revoked) in rows.items():
            session.add(
                UserSession(
                    user_id=personas.viewer.id,
                    token_digest=token_digest(name),
                    user_agent=name,
                    created_at=NOW - timedelta(days=90),
                    last_seen_at=seen,
                    revoked_at=revoked,
                )
            )

    purged = await purge_all(db, settings, now=NOW, batch=1)

    assert purged.sessions == 2
    async with db.read() as session:
        left = set(await session.scalars(select(UserSession.user_agent)))
    assert left == {"revoked-29", "expired-29", "live"}
