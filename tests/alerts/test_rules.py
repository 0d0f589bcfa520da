"""Which events a rule picks, and storm control (grouping repeats, daily digests)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.alerts import service
from app.alerts.models import AlertDelivery, DeliveryKind, DeliveryStatus
from app.alerts.rules import RuleSpec, matches, parse_names
from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.settings import Settings
from app.wabas.models import Waba
from tests.factories import Personas
from tests.support.alerts import (
    Clock,
    ctx_of,
    deliveries,
    email_channel,
    parts,
    quality,
    rule,
    sender,
    webhook,
)
from tests.support.payloads import WABA_ID
from tests.support.rows import register
from tests.support.smtp import Inbox


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (RuleSpec(), True),
        (RuleSpec(min_severity=2), True),
        (RuleSpec(fields=frozenset({"security"})), False),
        (RuleSpec(fields=frozenset({"phone_number_quality_update"}), kinds=frozenset({"downgrade"})), True),
        (RuleSpec(kinds=frozenset({"flagged"})), False),
        (RuleSpec(waba_ids=frozenset({"111"})), False),
        (RuleSpec(waba_ids=frozenset({"111", "222"}), min_severity=2), True),
    ],
)
def test_rule_matching(spec: RuleSpec, expected: bool) -> None:
    event = {"field": "phone_number_quality_update", "kind": "downgrade", "severity": 2, "waba_id": "222"}
    assert matches(spec, **event) is expected  # type: ignore[arg-type]


def test_a_warning_does_not_match_a_critical_rule() -> None:
    assert not matches(
        RuleSpec(min_severity=2), field="security", kind="pin_changed", severity=1, waba_id="1"
    )


def test_typed_lists_are_cleaned() -> None:
    assert parse_names(" Security, security  phone_number_quality_update,,") == [
        "security",
        "phone_number_quality_update",
    ]


async def test_rules_pick_by_waba_and_kind_and_disabled_rules_pick_nothing(
    db: Database, personas: Personas, meta_app: MetaApp, waba: Waba
) -> None:
    other, _ = await register(db, personas.org, meta_app, waba_id="999000999")
    ctx = ctx_of(personas.org, personas.admin)
    channel = (await email_channel(db, ctx, personas.admin.email)).channel
    only_other = await rule(db, ctx, [channel], name="other waba", waba_ids=[other.waba_id])
    flagged = await rule(db, ctx, [channel], name="flagged", kinds=["flagged"])
    off = await rule(
        db, ctx, [channel], name="off", fields=["phone_number_quality_update"], throttle_minutes=0
    )
    async with db.transaction() as session:
        await service.set_rule_enabled(session, ctx, rule_id=off.id, enabled=False)

    await webhook(db, meta_app, quality("DOWNGRADE"))
    await webhook(db, meta_app, quality("FLAGGED"))
    await webhook(db, meta_app, quality("DOWNGRADE"), waba_id="999000999")

    rows = await deliveries(db)
    picked = sorted((r.rule_id, r.payload["kind"], r.payload["waba_id"]) for r in rows)
    assert picked == sorted([(flagged.id, "flagged", WABA_ID), (only_other.id, "downgrade", "999000999")])


async def test_a_rule_refuses_a_waba_or_channel_of_another_org(
    db: Database, personas: Personas, meta_app: MetaApp, waba: Waba
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    other_ctx = ctx_of(personas.org_other, personas.outsider)
    theirs = (await email_channel(db, other_ctx, personas.outsider.email)).channel
    ours = (await email_channel(db, ctx, personas.admin.email)).channel
    with pytest.raises(service.NotFound):
        await rule(db, ctx, [theirs])
    with pytest.raises(service.AlertsError, match="Not a WABA"):
        await rule(db, other_ctx, [theirs], waba_ids=[WABA_ID])
    await rule(db, ctx, [ours], waba_ids=[WABA_ID])


async def test_repeats_within_the_window_become_one_follow_up_and_12_more(
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
    await rule(db, ctx, [channel], min_severity="critical", throttle_minutes=10)

    for i in range(13):
        await webhook(db, meta_app, quality("DOWNGRADE", f"TIER_{i}"))
    await webhook(db, meta_app, quality("FLAGGED"))  # another kind: its own alert

    rows = await deliveries(db)
    assert [(r.kind, r.group_count) for r in rows] == [
        (DeliveryKind.ALERT, 0),
        (DeliveryKind.FOLLOWUP, 12),
        (DeliveryKind.ALERT, 0),
    ]
    followup = rows[1]
    assert followup.run_at == rows[0].created_at + timedelta(minutes=10)
    alerts = sender(db, alert_settings, clock)
    assert await alerts.run_due() == 2  # the two first alerts; the follow-up waits for the window
    clock.advance(minutes=11)
    assert await alerts.run_due() == 1

    subjects = [m.message["Subject"] for m in inbox.received]
    assert len(subjects) == 3
    assert "(and 12 more)" in subjects[2]
    text, _ = parts(inbox.received[2].message)
    assert "and 12 more like this in the last 10 minutes" in text


async def test_after_the_window_the_next_event_alerts_at_once(
    db: Database, personas: Personas, meta_app: MetaApp, waba: Waba
) -> None:
    ctx = ctx_of(personas.org, personas.admin)
    channel = (await email_channel(db, ctx, personas.admin.email)).channel
    await rule(db, ctx, [channel], min_severity="critical", throttle_minutes=10)
    await webhook(db, meta_app, quality("DOWNGRADE", "TIER_1"))
    async with db.transaction() as session:  # the first alert was 11 minutes ago
        await session.execute(update(AlertDelivery).values(created_at=utcnow() - timedelta(minutes=11)))
    await webhook(db, meta_app, quality("DOWNGRADE", "TIER_2"))

    assert [r.kind for r in await deliveries(db)] == [DeliveryKind.ALERT, DeliveryKind.ALERT]


async def test_a_daily_digest_channel_gets_one_message_a_day(
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
    async with db.transaction() as session:
        await service.set_channel_digest(session, ctx, channel_id=channel.id, daily=True)
    await rule(db, ctx, [channel], min_severity="critical", throttle_minutes=0)
    for i in range(3):
        await webhook(db, meta_app, quality("DOWNGRADE", f"TIER_{i}"))
    alerts = sender(db, alert_settings, clock)

    assert await alerts.make_digests() == 0  # not a day yet
    assert await alerts.run_due() == 0
    assert {r.status for r in await deliveries(db)} == {DeliveryStatus.HELD}

    clock.advance(hours=25)
    assert await alerts.make_digests() == 1
    assert await alerts.run_due() == 1

    [mail] = inbox.received
    assert "Daily digest: 3 alerts" in mail.message["Subject"]
    text, _ = parts(mail.message)
    assert text.count("downgraded") == 3
    statuses = sorted(r.status for r in await deliveries(db))
    assert statuses == [DeliveryStatus.DIGESTED] * 3 + [DeliveryStatus.SENT]


def test_wabawatchs_own_test_event_matches_no_rule_not_even_one_for_everything() -> None:
    everything = RuleSpec()
    assert matches(everything, field="security", kind="pin_changed", severity=0, waba_id="1")
    assert not matches(everything, field="wabawatch_test", kind="test_event", severity=0, waba_id="1")
    assert not matches(everything, field="wabawatch_test", kind="test_event", severity=2, waba_id="1")
