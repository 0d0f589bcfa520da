"""A WABA that stays verified but silent past its limit is an event an alert rule can pick: one
alert per silence, through the outbox, to a real local HTTP server standing in for Slack."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx2
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from app.connections.silence import SilenceWatch
from app.db.engine import Database
from app.events.models import Event
from app.events.parsed import Severity
from app.settings import Settings
from app.wabas.models import Waba
from app.wabas.silence import FIELD, KIND
from app.worker import build_worker
from tests.factories import Personas, login
from tests.support.alerts import Clock, ctx_of, deliveries, rule, sender, slack_channel

HOOK = "/services/T0001/B0001/silence"


async def set_waba(db: Database, waba: Waba, **values: object) -> None:
    async with db.transaction() as session:
        found = await session.get(Waba, waba.id)
        assert found is not None
        for name, value in values.items():
            setattr(found, name, value)


async def silence_events(db: Database) -> list[Event]:
    async with db.read() as session:
        return list(await session.scalars(select(Event).where(Event.kind == KIND).order_by(Event.id)))


def watch(db: Database, clock: Clock) -> SilenceWatch:
    return SilenceWatch(db, hooks=[], check_every=timedelta(0), clock=clock)


async def test_a_silent_waba_alerts_its_rule_once_per_silence(
    db: Database,
    personas: Personas,
    waba: Waba,
    alert_settings: Settings,
    slack: HTTPServer,
    clock: Clock,
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = await slack_channel(db, alert_settings, ctx, slack.url_for(HOOK), name="#ops")
    await rule(db, ctx, [channel], fields=[FIELD], kinds=[KIND], throttle_minutes=0)
    slack.expect_request(HOOK, method="POST").respond_with_data("ok")
    now = clock()
    await set_waba(
        db,
        waba,
        subscribed=True,
        subscribed_at=now - timedelta(hours=40),
        last_event_at=now - timedelta(hours=26),
    )

    assert await watch(db, clock).run() == 1
    assert await watch(db, clock).run() == 0  # the same silence, checked again: no second alert
    [event] = await silence_events(db)
    assert event.severity == Severity.WARNING
    assert event.waba_id == waba.waba_id
    assert "Acme <Main> & Co" in event.summary
    assert "no event has arrived for 26 hours" in event.summary
    assert await sender(db, alert_settings, clock).run_due() == 1
    [(request, _)] = slack.log
    posted = json.dumps(json.loads(request.get_data()))
    assert "verified but silent" in posted
    assert waba.waba_id in posted

    # An event ends the silence; when the WABA falls silent again, that silence is told too.
    await set_waba(db, waba, last_event_at=now + timedelta(minutes=5))
    clock.advance(hours=20)
    assert await watch(db, clock).run() == 0  # quiet for 20 hours: under the 24-hour limit
    clock.advance(hours=5)
    assert await watch(db, clock).run() == 1
    assert len(await silence_events(db)) == 2
    assert len(await deliveries(db)) == 2


async def test_no_alert_for_a_waba_that_hears_events_or_is_not_subscribed(
    db: Database, personas: Personas, waba: Waba, clock: Clock
) -> None:
    long_ago: datetime = clock() - timedelta(days=3)
    await set_waba(
        db, waba, subscribed=True, subscribed_at=long_ago, last_event_at=clock() - timedelta(hours=2)
    )
    assert await watch(db, clock).run() == 0
    await set_waba(db, waba, subscribed=False, last_event_at=long_ago)
    assert await watch(db, clock).run() == 0
    await set_waba(db, waba, subscribed=True, silent_after_hours=100)
    assert await watch(db, clock).run() == 0  # 72 hours is under this WABA's own limit
    assert await silence_events(db) == []


async def test_the_gate_spares_the_database_between_checks(db: Database, waba: Waba, clock: Clock) -> None:
    every_minute = SilenceWatch(db, hooks=[], clock=clock)
    assert await every_minute.run() == 0
    await set_waba(db, waba, subscribed=True, subscribed_at=clock() - timedelta(days=2))
    assert await every_minute.run() == 0  # shut for a minute after the last look
    clock.advance(minutes=1)
    assert await every_minute.run() == 1


def test_every_worker_with_settings_runs_the_silence_watch(db: Database, settings: Settings) -> None:
    assert "wabas.silence" in [p.name for p in build_worker(db, settings=settings).passes]


async def test_the_silence_reads_in_words_on_the_timeline_and_its_page(
    client: httpx2.AsyncClient, db: Database, personas: Personas, waba: Waba, clock: Clock
) -> None:
    await set_waba(db, waba, subscribed=True, subscribed_at=clock() - timedelta(days=2))
    assert await watch(db, clock).run() == 1
    [event] = await silence_events(db)
    await login(client, personas.viewer)
    timeline = await client.get("/o/acme/events")
    assert "webhook subscription" in timeline.text
    assert "is verified but silent" in timeline.text
    page = await client.get(f"/o/acme/events/{event.id}")
    assert "Meta&#39;s notifications may not be reaching us" in page.text
    assert "callback URL and verify token" in page.text
