"""Forms that remove or stop something ask first (``data-confirm``, asked by static/js/app.js; the
browser test of the subscription panel clicks through one), in words that name what goes."""

from __future__ import annotations

import re

import httpx2
from sqlalchemy import select

from app.alerts.models import AlertRule
from app.db.engine import Database
from tests.factories import Personas, login
from tests.support.alerts import ctx_of, email_channel


def confirmations(page: str) -> list[str]:
    return re.findall(r'data-confirm="([^"]+)"', page)


async def test_removing_a_member_or_withdrawing_an_invitation_asks_first(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.owner)
    page = (await client.get("/o/acme/members")).text
    asked = confirmations(page)
    assert f"Remove {personas.viewer.email} from Acme Messaging? They lose access at once." in asked
    assert "Leave Acme Messaging? You lose access to it at once." in asked


async def test_removing_an_alert_channel_or_rule_asks_first(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    created = await email_channel(db, ctx_of(personas.org, personas.admin), personas.admin.email)
    async with db.transaction() as session:
        session.add(
            AlertRule(
                org_id=personas.org.id,
                name="PIN resets",
                enabled=True,
                fields=[],
                kinds=[],
                min_severity=None,
                waba_ids=[],
                throttle_minutes=10,
            )
        )
    await login(client, personas.admin)
    asked = confirmations((await client.get("/o/acme/alerts")).text)
    assert f"Remove the channel {created.channel.label}? Rules stop sending to it." in asked
    assert "Remove the rule PIN resets? Nobody is alerted by it any more." in asked
    async with db.read() as session:
        assert (await session.scalars(select(AlertRule))).one().name == "PIN resets"
