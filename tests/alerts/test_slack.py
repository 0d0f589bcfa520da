"""Alerts to Slack through a real local HTTP server standing in for hooks.slack.com."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import text
from werkzeug import Request, Response

from app.alerts.models import DeliveryKind, DeliveryStatus
from app.db.engine import Database
from app.graph.redact import install as install_graph_redaction
from app.meta.models import MetaApp
from app.settings import Settings
from app.wabas.models import Waba
from tests.factories import Personas
from tests.support.alerts import (
    Clock,
    channel_row,
    ctx_of,
    deliveries,
    name_rejected,
    quality,
    rule,
    sender,
    slack_channel,
    webhook,
)
from tests.support.payloads import WABA_ID
from tests.support.smtp import Inbox

HOOK = "/services/T0001/B0001/s3cr3tT0ken"


def posted(server: HTTPServer) -> list[dict[str, object]]:
    return [json.loads(request.get_data()) for request, _ in server.log]


async def test_an_alert_reaches_slack_as_block_kit_with_escaped_text_and_a_button(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    slack: HTTPServer,
    clock: Clock,
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = await slack_channel(db, alert_settings, ctx, slack.url_for(HOOK), name="#ops")
    await rule(db, ctx, [channel], min_severity="warning")
    slack.expect_ordered_request(HOOK, method="POST").respond_with_data("ok")

    await webhook(db, meta_app, name_rejected("<!channel> & <http://evil|click>", "bad"))
    assert await sender(db, alert_settings, clock).run_due() == 1

    [message] = posted(slack)
    dumped = json.dumps(message)
    assert "<!channel>" not in dumped
    assert "<http://evil" not in dumped
    assert "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;" in dumped
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    [row] = await deliveries(db)
    assert actions["elements"][0]["url"] == f"http://testserver/o/acme/events/{row.event_id}"
    facts = next(b for b in blocks if "fields" in b)["fields"]
    assert any("Acme &lt;Main&gt; &amp; Co" in f["text"] for f in facts)
    assert "Display name" in message["text"]
    # The notification text itself (what a phone shows) names the WABA: name, then id.
    assert str(message["text"]).startswith(f"Acme &lt;Main&gt; &amp; Co ({WABA_ID}): Display name")
    [row] = await deliveries(db)
    assert row.status == DeliveryStatus.SENT, row.last_error


async def test_the_webhook_path_never_reaches_the_logs(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    slack: HTTPServer,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = await slack_channel(db, alert_settings, ctx, slack.url_for(HOOK))
    await rule(db, ctx, [channel], min_severity="critical")
    slack.expect_request(HOOK, method="POST").respond_with_data("ok")
    await webhook(db, meta_app, quality("DOWNGRADE"))
    install_graph_redaction()  # the Graph client's filter on the same logger must not undo ours

    with caplog.at_level(logging.INFO, logger="httpx2"):
        await sender(db, alert_settings, clock).run_due()

    lines = [r.getMessage() for r in caplog.records if r.name == "httpx2"]
    assert any("/services/[redacted]" in line for line in lines)
    assert not any("s3cr3t" in line for line in lines)


async def test_the_webhook_url_is_encrypted_at_rest_and_never_shown(
    db: Database, personas: Personas, alert_settings: Settings, slack: HTTPServer
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = await slack_channel(db, alert_settings, ctx, slack.url_for(HOOK))
    async with db.read() as session:
        stored = (await session.execute(text("SELECT webhook_url, label FROM alert_channels"))).one()
    assert stored[0].startswith("gAAAAA")
    assert "s3cr3t" not in stored[0]
    assert "s3cr3t" not in stored[1]
    assert stored[1].endswith("…0ken")
    assert (await channel_row(db, channel.id)).webhook_url == slack.url_for(HOOK)


async def test_500s_and_timeouts_are_retried_with_backoff_then_delivered_exactly_once(
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

    slow_done = threading.Event()

    def too_slow(request: Request) -> Response:
        slow_done.set()
        time.sleep(1.0)  # the sender gives up after 0.5 s; the gateway then gives up too
        return Response("gateway timeout", status=504)

    slack.expect_ordered_request(HOOK, method="POST").respond_with_data("upstream failure", status=500)
    slack.expect_ordered_request(HOOK, method="POST").respond_with_handler(too_slow)
    slack.expect_ordered_request(HOOK, method="POST").respond_with_data("ok")
    await webhook(db, meta_app, quality("DOWNGRADE"))
    alerts = sender(db, alert_settings, clock)

    await alerts.run_due()
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == (DeliveryStatus.QUEUED, 1)
    assert row.last_error is not None
    assert "500" in row.last_error
    assert row.run_at > clock()  # backoff: not due yet
    assert await alerts.run_due() == 0

    clock.advance(hours=1)
    await alerts.run_due()
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == (DeliveryStatus.QUEUED, 2)
    assert "did not answer in time" in (row.last_error or "")

    clock.advance(hours=1)
    await alerts.run_due()
    [row] = await deliveries(db)
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 3, None)
    clock.advance(hours=1)
    assert await alerts.run_due() == 0
    slack.check_assertions()
    assert slow_done.is_set()
    await asyncio.sleep(1.2)  # let the slow answer finish, so it is logged here and not in the next test
    # Three posts reached the receiver (500, the one that timed out, the good one); one was taken.
    assert sorted(r.status_code for _, r in slack.log) == [200, 500, 504]


async def test_failures_stop_after_the_attempt_limit_and_stay_visible(
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
    slack.expect_request(HOOK, method="POST").respond_with_data("down", status=503)
    await webhook(db, meta_app, quality("DOWNGRADE"))
    alerts = sender(db, alert_settings, clock)

    for _ in range(10):
        await alerts.run_due()
        clock.advance(hours=2)

    [row] = await deliveries(db)
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, row.max_attempts)
    assert "503" in (row.last_error or "")
    assert len(slack.log) == row.max_attempts


async def gone_case(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    settings: Settings,
    slack: HTTPServer,
    clock: Clock,
    inbox: Inbox,
    status: int,
    answer: str,
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = await slack_channel(db, settings, ctx, slack.url_for(HOOK), name="#ops")
    await rule(db, ctx, [channel], min_severity="critical")
    slack.expect_request(HOOK, method="POST").respond_with_data(answer, status=status)
    await webhook(db, meta_app, quality("DOWNGRADE"))
    alerts = sender(db, settings, clock)

    await alerts.run_due()

    disabled = await channel_row(db, channel.id)
    assert disabled.enabled is False
    assert answer in (disabled.disabled_reason or "")
    rows = await deliveries(db)
    assert [(r.kind, r.status) for r in rows] == [
        (DeliveryKind.ALERT, DeliveryStatus.FAILED),
        (DeliveryKind.NOTICE, DeliveryStatus.QUEUED),
    ]
    await alerts.run_due()
    told = sorted(r for m in inbox.received for r in m.recipients)
    assert told == sorted([personas.owner.email, personas.admin.email])
    assert all("Alert channel disabled: #ops" in m.message["Subject"] for m in inbox.received)
    # Later events no longer go to the disabled channel.
    await webhook(db, meta_app, quality("FLAGGED"))
    assert len(await deliveries(db)) == 2
    assert len(slack.log) == 1


async def test_slack_404_no_service_disables_the_channel_and_tells_the_admins(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    slack: HTTPServer,
    clock: Clock,
    inbox: Inbox,
) -> None:
    await gone_case(db, personas, meta_app, alert_settings, slack, clock, inbox, 404, "no_service")


async def test_slack_410_channel_is_archived_disables_the_channel_and_tells_the_admins(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    slack: HTTPServer,
    clock: Clock,
    inbox: Inbox,
) -> None:
    await gone_case(db, personas, meta_app, alert_settings, slack, clock, inbox, 410, "channel_is_archived")


async def test_a_redirect_is_not_followed(
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
    for target in ("http://169.254.169.254/latest/meta-data/", slack.url_for("/internal")):
        slack.expect_ordered_request(HOOK, method="POST").respond_with_data(
            "", status=302, headers={"Location": target}
        )
    slack.expect_request("/internal").respond_with_data("should never be reached")

    await webhook(db, meta_app, quality("DOWNGRADE"))
    await webhook(db, meta_app, quality("FLAGGED"))
    await sender(db, alert_settings, clock).run_due()

    rows = await deliveries(db)
    assert [r.status for r in rows] == [DeliveryStatus.FAILED, DeliveryStatus.FAILED]
    assert all("redirect" in (r.last_error or "") for r in rows)
    assert [request.path for request, _ in slack.log] == [HOOK, HOOK]
    assert (await channel_row(db, channel.id)).enabled is True
