"""Routing by registered WABA, state that only moves forward, and reprocessing without duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.db.engine import Database
from app.events.models import Event
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.processing.reprocess import reprocess
from app.wabas.models import PhoneNumber, Waba
from app.webhooks.models import ChangeStatus
from tests.factories import Personas
from tests.support.payloads import WABA_ID, body, changes_of, entry, fixture, quality_change
from tests.support.rows import all_changes, all_events, count, register, state, store_delivery

T_OLD, T_NEW = 1_748_000_000, 1_748_454_394


async def test_an_older_change_delivered_late_never_rolls_state_back(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    waba, _ = await register(db, personas.org, meta_app)
    processor = Processor(db)
    await store_delivery(
        db, meta_app, body(entry(WABA_ID, [quality_change("DOWNGRADE", "TIER_2K")], time=T_NEW))
    )
    await processor.run_until_idle()
    await store_delivery(
        db, meta_app, body(entry(WABA_ID, [quality_change("UPGRADE", "TIER_10K")], time=T_OLD))
    )
    await processor.run_until_idle()

    events = await all_events(db)
    assert sorted(e.kind for e in events) == ["downgrade", "upgrade"]  # both are on the timeline
    newer = next(e for e in events if e.kind == "downgrade")
    current = await state(db, waba)
    phone_subject = next(subject for subject, key in current if key == "messaging_limit")
    limit = current[(phone_subject, "messaging_limit")]
    assert limit.value["tier"] == "TIER_2K"
    assert limit.event_id == newer.id
    assert limit.occurred_at == datetime.fromtimestamp(T_NEW, UTC)

    # A change newer than both moves it forward again.
    await store_delivery(
        db, meta_app, body(entry(WABA_ID, [quality_change("UPGRADE", "TIER_100K")], time=T_NEW + 60))
    )
    await processor.run_until_idle()
    assert (await state(db, waba))[(phone_subject, "messaging_limit")].value["tier"] == "TIER_100K"


async def test_changes_for_an_unregistered_waba_wait_unrouted_and_are_processed_once_it_is_registered(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await store_delivery(db, meta_app, fixture("phone_number_quality_update__downgrade"))
    await store_delivery(db, meta_app, fixture("security__pin_reset_request"))
    processor = Processor(db)
    await processor.run_until_idle()

    assert {c.status for c in await all_changes(db)} == {ChangeStatus.UNROUTED}
    assert {c.org_id for c in await all_changes(db)} == {None}
    assert await all_events(db) == []

    waba, routed = await register(db, personas.org, meta_app, name="Acme support")
    assert routed == 2
    await processor.run_until_idle()

    changes = await all_changes(db)
    assert {c.status for c in changes} == {ChangeStatus.PROCESSED}
    assert {c.org_id for c in changes} == {personas.org.id}
    events = await all_events(db)
    assert sorted(e.kind for e in events) == ["downgrade", "pin_reset_request"]
    assert {(e.org_id, e.waba_pk) for e in events} == {(personas.org.id, waba.id)}


async def test_a_change_split_before_a_registration_committed_is_routed_by_the_sweep(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await store_delivery(db, meta_app, fixture("security__pin_changed"))
    processor = Processor(db)
    await processor.run_until_idle()
    # The registration happened, but without routing (as when it raced with the split).
    async with db.transaction() as session:
        session.add(Waba(org_id=personas.org.id, app_pk=meta_app.id, waba_id=WABA_ID, name=""))

    assert await processor.sweep_unrouted() == 1
    await processor.run_until_idle()
    assert [e.org_id for e in await all_events(db)] == [personas.org.id]


async def test_phone_numbers_are_found_by_id_or_digits_and_completed(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    # The quality update knows only the digits; the message status knows the digits and the id.
    await store_delivery(db, meta_app, fixture("phone_number_quality_update__downgrade"))
    await store_delivery(db, meta_app, fixture("messages__status_failed"))
    await Processor(db).run_until_idle()

    async with db.read() as session:
        phones = list(await session.scalars(select(PhoneNumber)))
    assert [(p.digits, p.phone_number_id, p.org_id) for p in phones] == [
        ("15550783881", "106540352242922", personas.org.id)
    ]
    events = await all_events(db)
    assert {e.phone for e in events} == {"15550783881"}


async def test_reprocessing_twice_gives_the_same_events_and_keeps_acknowledgements(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    payload = body(
        entry(
            WABA_ID, [quality_change("DOWNGRADE", "TIER_2K"), *changes_of("account_review_update__approved")]
        ),
        entry(WABA_ID, changes_of("messages__status_failed"), time=None),
    )
    await store_delivery(db, meta_app, payload)
    await store_delivery(db, meta_app, fixture("security__pin_changed"))
    processor = Processor(db)
    await processor.run_until_idle()
    before = {(e.change_id, e.seq): e.id for e in await all_events(db)}
    assert len(before) == 4
    acknowledged_at = datetime.now(UTC).replace(microsecond=0)
    async with db.transaction() as session:
        first = await session.scalar(select(Event).order_by(Event.id).limit(1))
        assert first is not None
        first.acknowledged_at = acknowledged_at

    for _ in range(2):
        report = await reprocess(processor, since=None)
        assert report.deliveries.claimed == 2
        assert report.deliveries.new_changes == 0
        assert report.changes.processed == 4
        assert report.changes.events_created == 0
        assert report.changes.events_updated == 4

    after = {(e.change_id, e.seq): e.id for e in await all_events(db)}
    assert after == before
    assert await count(db, Event) == 4
    async with db.read() as session:
        kept = await session.get(Event, min(before.values()))
        assert kept is not None
        assert kept.acknowledged_at == acknowledged_at


async def test_reprocess_since_only_takes_deliveries_received_from_then_on(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    now = datetime.now(UTC)
    await store_delivery(db, meta_app, fixture("security__pin_changed"), received_at=now - timedelta(days=3))
    await store_delivery(db, meta_app, fixture("account_review_update__approved"), received_at=now)
    processor = Processor(db)
    await processor.run_until_idle()

    report = await reprocess(processor, since=now - timedelta(hours=1))

    assert report.deliveries.claimed == 1
    assert report.changes.claimed == 1
    assert len(await all_events(db)) == 2
