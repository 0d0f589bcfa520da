"""Alerts at volume: a batch of events reads all its groups at once, not a read per group or event, and a
burst of mail goes out over a few connections at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import event

from app.alerts.messages import AlertMessage
from app.alerts.models import ChannelKind, DeliveryKind
from app.alerts.transports import Target
from app.alerts.transports.email import CONNECTIONS, EmailTransport
from app.db.engine import Database
from app.mail.service import Mailer
from app.meta.models import MetaApp
from app.wabas.models import Waba
from tests.factories import Personas
from tests.support.alerts import ctx_of, deliveries, email_channel, quality, rule, webhook
from tests.support.ports import free_port


@contextmanager
def outbox_statements(db: Database, verb: str) -> Iterator[list[str]]:
    """The statements of one kind (SELECT, INSERT) on the outbox table sent inside the block."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(verb) and "alert_deliveries" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)


async def test_a_batch_reads_its_storm_control_groups_at_once_however_many_there_are(
    db: Database, personas: Personas, meta_app: MetaApp, waba: Waba
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = (await email_channel(db, ctx, personas.admin.email)).channel
    await rule(db, ctx, [channel], throttle_minutes=10)
    kinds = ["DOWNGRADE", "UPGRADE", "FLAGGED", "UNFLAGGED"]
    burst = [quality(kind, "TIER_1K", display=f"1555000{n:04d}") for n in range(3) for kind in kinds]

    with outbox_statements(db, "SELECT") as reads:
        await webhook(db, meta_app, *burst)  # one delivery, one batch, four groups
    # The last alert within each group's window, one query for all four (none had one, so no
    # follow-up is looked for).
    assert len(reads) == 1
    rows = await deliveries(db)
    key = f"{waba.waba_id}|phone_number_quality_update|"
    assert sorted((r.kind, r.group_count, r.group_key) for r in rows) == sorted(
        [(DeliveryKind.ALERT, 0, key + kind.lower()) for kind in kinds]
        + [(DeliveryKind.FOLLOWUP, 2, key + kind.lower()) for kind in kinds]
    )

    with outbox_statements(db, "SELECT") as reads:
        await webhook(db, meta_app, *[quality(kind, "TIER_1K", display="15550009999") for kind in kinds])
    # Now every group has an alert within its window: one more query finds their follow-ups, which
    # count the new repeats (no new row).
    assert len(reads) == 2
    rows = await deliveries(db)
    assert sorted((r.kind, r.group_count) for r in rows) == sorted(
        [(DeliveryKind.ALERT, 0)] * 4 + [(DeliveryKind.FOLLOWUP, 3)] * 4
    )


async def test_the_alerts_of_a_batch_are_written_in_one_statement(
    db: Database, personas: Personas, meta_app: MetaApp, waba: Waba
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    first = (await email_channel(db, ctx, personas.admin.email)).channel
    second = (await email_channel(db, ctx, personas.viewer.email)).channel
    await rule(db, ctx, [first, second], min_severity="critical", throttle_minutes=0)
    downgrades = [quality("DOWNGRADE", f"TIER_{i}", display=f"1555000{i:04d}") for i in range(10)]

    with outbox_statements(db, "INSERT") as inserts:
        await webhook(db, meta_app, *downgrades)

    rows = await deliveries(db)
    assert len(rows) == 2 * 10
    assert {(r.kind, r.channel_id) for r in rows} == {
        (DeliveryKind.ALERT, first.id),
        (DeliveryKind.ALERT, second.id),
    }
    assert len({r.event_id for r in rows}) == 10
    assert len(inserts) == 1


class SlowServer:
    """An SMTP server that takes a while over each message and notes how many it handles at once
    and how many connections it was asked to open."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections = 0
        self.busy = 0
        self.most_at_once = 0
        self.received = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.busy += 1
        self.most_at_once = max(self.most_at_once, self.busy)
        await asyncio.sleep(0.05)
        self.busy -= 1
        self.received += 1
        return "250 OK"


async def test_a_burst_of_mail_goes_out_over_a_few_connections_at_once(db: Database) -> None:
    server = SlowServer()
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        mailer = Mailer(db=db, smtp_url=f"smtp+plain://127.0.0.1:{server.port}", sender="alerts@example.com")
        transport = EmailTransport(mailer, base_url="http://wabawatch.test")
        message = AlertMessage(kind="alert", title="Quality: downgrade", org_name="Org", summary="Lower")
        async with transport.batch():
            await asyncio.gather(
                *(
                    transport.send(Target(kind=ChannelKind.EMAIL, addresses=(f"o{i}@example.com",)), message)
                    for i in range(3 * CONNECTIONS)
                )
            )
    finally:
        controller.stop()

    assert server.received == 3 * CONNECTIONS
    assert server.most_at_once > 1  # not one after another over a single connection
    assert server.connections <= CONNECTIONS  # and not a connection per message
