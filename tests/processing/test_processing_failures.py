"""What goes wrong in processing stays visible, is retried when due, and blocks nothing else."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from app.db.engine import Database
from app.events.parsed import Severity
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.webhooks.models import ChangeStatus, DeliveryStatus
from tests.factories import Personas
from tests.support.payloads import WABA_ID, body, changes_of, entry, name_change, quality_change
from tests.support.refusal import MARKER, REASON, events_refused
from tests.support.rows import all_changes, all_events, delivery, register, store_delivery

# The parser puts the name in the event's summary, which the database (``events_refused``) refuses.
REFUSED_NAME = f"Café {MARKER}"


class Clock:
    """A clock the test moves by hand, so that a retry can fall due without waiting for it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


def poisoned_change() -> dict[str, object]:
    return name_change(REFUSED_NAME)


async def test_a_failing_change_keeps_its_error_and_does_not_block_the_others(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    good = quality_change("DOWNGRADE", "TIER_2K")
    first = await store_delivery(db, meta_app, body(entry(WABA_ID, [poisoned_change(), good])))
    second = await store_delivery(db, meta_app, body(entry(WABA_ID, changes_of("security__pin_changed"))))
    clock = Clock()

    async with events_refused(db):
        await Processor(db, clock=clock, rng=random.Random(1)).run_until_idle()

    by_field = {c.field: c for c in await all_changes(db)}
    failed = by_field["phone_number_name_update"]
    assert failed.status == ChangeStatus.FAILED
    assert failed.attempts == 1
    assert failed.last_error is not None
    assert REASON in failed.last_error
    assert failed.next_attempt_at is not None
    # Exponential backoff with jitter: between half and all of the base delay (5 s) after one failure.
    assert clock.now + timedelta(seconds=2.5) <= failed.next_attempt_at <= clock.now + timedelta(seconds=5)
    assert by_field["phone_number_quality_update"].status == ChangeStatus.PROCESSED
    assert by_field["security"].status == ChangeStatus.PROCESSED
    assert sorted(e.kind for e in await all_events(db)) == ["downgrade", "pin_changed"]
    # Its delivery was split fine: the failure belongs to the change.
    assert (await delivery(db, first)).status == DeliveryStatus.PROCESSED
    assert (await delivery(db, second)).status == DeliveryStatus.PROCESSED


async def test_a_failed_change_is_retried_when_due_and_stays_failed_after_the_last_attempt(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    await store_delivery(db, meta_app, body(entry(WABA_ID, [poisoned_change()])))
    clock = Clock()
    async with events_refused(db):
        processor = Processor(db, clock=clock, max_attempts=3, rng=random.Random(2))

        await processor.run_until_idle()
        assert (await all_changes(db))[0].attempts == 1
        # Not due yet: nothing happens.
        assert await processor.process_pending() == 0

        waits = []
        for attempt in (2, 3):
            change = (await all_changes(db))[0]
            assert change.next_attempt_at is not None
            waits.append(change.next_attempt_at - clock.now)
            clock.now = change.next_attempt_at
            assert await processor.process_pending() == 1
            assert (await all_changes(db))[0].attempts == attempt

    final = (await all_changes(db))[0]
    assert final.status == ChangeStatus.FAILED
    assert final.next_attempt_at is None
    assert final.last_error is not None
    assert REASON in final.last_error
    assert waits[1] > waits[0]  # the second wait is longer: exponential
    clock.now += timedelta(days=30)
    assert await processor.process_pending() == 0
    # Kept but never shown would be lost to the people who look: the org's timeline says so.
    [shown] = await all_events(db)
    assert (shown.kind, shown.field, shown.change_id) == ("could_not_be_read", final.field, final.id)
    assert shown.severity == Severity.WARNING
    assert shown.org_id == personas.org.id
    assert shown.summary.startswith("A notification about display name could not be read: ")
    assert REASON in shown.summary


async def test_a_delivery_that_is_not_a_notification_is_marked_failed_with_the_reason(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    not_object = await store_delivery(db, meta_app, b'["entry"]')
    no_entries = await store_delivery(db, meta_app, b'{"object": "whatsapp_business_account"}')
    nan = await store_delivery(db, meta_app, b'{"object": "x", "entry": [], "n": NaN}')
    huge = await store_delivery(db, meta_app, b'{"object": "x", "entry": [], "n": 1e999}')

    await Processor(db).run_until_idle()

    assert (await delivery(db, not_object)).status == DeliveryStatus.FAILED
    assert (await delivery(db, not_object)).last_error == "body is a JSON list, not an object"
    assert (await delivery(db, no_entries)).last_error == 'body has no "entry" list'
    nan_row = await delivery(db, nan)
    assert nan_row.status == DeliveryStatus.FAILED
    assert nan_row.last_error is not None
    assert "NaN" in nan_row.last_error
    assert "1e999 is out of range" in str((await delivery(db, huge)).last_error)


async def test_the_parts_of_a_delivery_that_can_be_split_are_kept_and_the_rest_named(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    payload = body(
        entry(WABA_ID, [quality_change("DOWNGRADE", "TIER_2K"), {"field": "security"}, "junk"]),
        {"changes": []},
    )
    delivery_id = await store_delivery(db, meta_app, payload)

    await Processor(db).run_until_idle()

    row = await delivery(db, delivery_id)
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error == (
        "3 of 4 parts could not be split: entry[0].changes[1] has no value object; "
        "entry[0].changes[2] is not an object; entry[1] has no usable id"
    )
    assert [e.kind for e in await all_events(db)] == ["downgrade"]
