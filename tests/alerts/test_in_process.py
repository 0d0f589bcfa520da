"""The whole path in a running app: a signed webhook POST → stored → processed (alerts enqueued in
the same transaction) → the alert worker, woken by the commit, mails it and posts it to Slack."""

from __future__ import annotations

import asyncio
import json

from pytest_httpserver import HTTPServer

from app.db.engine import Database
from app.meta.models import MetaApp
from app.settings import Settings
from app.wabas.models import Waba
from tests.factories import Personas, running_app
from tests.support.alerts import ctx_of, email_channel, rule, slack_channel
from tests.support.meta_app import APP_ID, sign
from tests.support.smtp import Inbox

HOOK = "/services/T0001/B0003/inproc"


async def test_a_webhook_post_ends_as_a_mail_and_a_slack_message(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    slack: HTTPServer,
    inbox: Inbox,
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    mail = (await email_channel(db, ctx, personas.admin.email)).channel
    hook = await slack_channel(db, alert_settings, ctx, slack.url_for(HOOK))
    await rule(db, ctx, [mail, hook], min_severity="critical")
    slack.expect_request(HOOK, method="POST").respond_with_data("ok")
    raw = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": waba.waba_id,
                    "time": 1_760_000_123,
                    "changes": [
                        {
                            "field": "security",
                            "value": {"display_phone_number": "15550783881", "event": "PIN_RESET_REQUEST"},
                        }
                    ],
                }
            ],
        }
    ).encode()

    async with running_app(alert_settings, worker_in_process=True) as client:
        response = await client.post(
            f"/webhooks/whatsapp/{APP_ID}",
            content=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)},
        )
        assert response.status_code == 200
        for _ in range(200):
            if inbox.received and slack.log:
                break
            await asyncio.sleep(0.05)

    [received] = inbox.received
    assert received.recipients == [personas.admin.email]
    assert "Two-step verification PIN reset requested for +1 555-078-3881" in received.message["Subject"]
    assert len(slack.log) == 1
