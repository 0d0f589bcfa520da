"""What holds when a worker dies between sending an alert and recording that it was sent."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from app.alerts.models import DeliveryStatus
from app.db.engine import Database
from app.meta.models import MetaApp
from app.settings import Settings
from app.wabas.models import Waba
from tests.factories import Personas
from tests.support.alerts import Clock, ctx_of, deliveries, quality, rule, sender, slack_channel, webhook

HOOK = "/services/T0001/B0002/crash"


async def test_a_worker_dying_after_the_send_means_the_alert_is_sent_again_at_least_once(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    slack: HTTPServer,
    clock: Clock,
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = await slack_channel(db, alert_settings, ctx, slack.url_for(HOOK))
    await rule(db, ctx, [channel], min_severity="critical")
    slack.expect_request(HOOK, method="POST").respond_with_data("ok")
    await webhook(db, meta_app, quality("DOWNGRADE"))
    dying = sender(db, alert_settings, clock)

    claimed = await dying.claim()  # the attempt is committed before the send...
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == (DeliveryStatus.SENDING, 1)
    outcomes = await dying.send(claimed)  # ...the message leaves...
    assert [o.error for o in outcomes] == [None]
    # ...and the worker dies here, before record(): the row stays "sending" under its lease.

    survivor = sender(db, alert_settings, clock)
    assert await survivor.run_due() == 0  # the lease still holds
    clock.advance(minutes=3)  # the lease (2 minutes) has run out
    assert await survivor.run_due() == 1

    [row] = await deliveries(db)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    assert len(slack.log) == 2  # the same alert reached Slack twice: at least once, never lost
    assert slack.log[0][0].get_data() == slack.log[1][0].get_data()
