"""Processing a batch at once: a few statements per batch, with the same outcome as one change at a
time, and a failing change still only fails itself."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from app.db.engine import Database
from app.meta.models import MetaApp
from app.processing.processor import BatchSize, Processor
from app.wabas.models import PhoneNumber
from app.webhooks.models import ChangeStatus, DeliveryStatus
from tests.factories import Personas
from tests.support.payloads import WABA_ID, body, changes_of, entry, name_change, quality_change
from tests.support.refusal import MARKER, events_refused
from tests.support.rows import all_changes, all_events, delivery, register, state, store_delivery
from tests.support.statements import statements


def numbers(count: int, *, first: int = 0) -> list[str]:
    return [f"1555000{n:04d}" for n in range(first, first + count)]


async def phones(db: Database) -> list[PhoneNumber]:
    async with db.read() as session:
        return list(await session.scalars(select(PhoneNumber).order_by(PhoneNumber.id)))


async def test_a_batch_reads_its_numbers_and_state_at_once_however_many_changes_it_holds(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    waba, _ = await register(db, personas.org, meta_app)
    # Flagged: each number gets two state keys, its quality rating and its limit.
    flagged = [quality_change("FLAGGED", "TIER_1K", display=n) for n in numbers(30)]
    await store_delivery(db, meta_app, body(entry(WABA_ID, flagged)))
    processor = Processor(db, changes_per_batch=100)
    await processor.split_pending()

    with statements(db) as first:
        assert await processor.process_pending() == 30

    # Per batch, not per change: one savepoint, and a handful of reads (claim, changes, WABAs,
    # earlier events, numbers, state, the org's alert settings).
    assert first["SAVEPOINT"] == 1
    assert first["SELECT"] <= 12
    assert len(await all_events(db)) == 30
    assert sorted(p.digits or "" for p in await phones(db)) == numbers(30)
    assert len([key for key in await state(db, waba) if key[0].startswith("phone:")]) == 2 * 30

    # The same numbers again, upgraded (a later entry): found, not made again, and their state moves.
    upgrades = [quality_change("UPGRADE", "TIER_10K", display=n) for n in numbers(30)]
    await store_delivery(db, meta_app, body(entry(WABA_ID, upgrades, time=1_748_454_999)))
    await processor.split_pending()
    with statements(db) as second:
        assert await processor.process_pending() == 30

    assert second["SAVEPOINT"] == 1
    assert second["SELECT"] <= 12
    assert len(await phones(db)) == 30
    limits = [e.value for (_, key), e in (await state(db, waba)).items() if key == "messaging_limit"]
    assert len(limits) == 30
    assert {limit["tier"] for limit in limits} == {"TIER_10K"}


async def test_a_failing_change_leaves_nothing_of_itself_and_everything_of_the_others(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    waba, _ = await register(db, personas.org, meta_app)
    poisoned = name_change(f"Café {MARKER}")  # the database refuses its event
    first, second = numbers(2)
    changes = [quality_change("DOWNGRADE", "TIER_1K", display=first), poisoned]
    changes.append(quality_change("DOWNGRADE", "TIER_1K", display=second))
    await store_delivery(db, meta_app, body(entry(WABA_ID, changes)))

    async with events_refused(db):
        await Processor(db).run_until_idle()

    by_field = Counter((c.field, c.status) for c in await all_changes(db))
    assert by_field == {
        ("phone_number_quality_update", ChangeStatus.PROCESSED): 2,
        ("phone_number_name_update", ChangeStatus.FAILED): 1,
    }
    failed = next(c for c in await all_changes(db) if c.status == ChangeStatus.FAILED)
    assert failed.last_error
    assert failed.next_attempt_at is not None
    # The whole batch was tried first and rolled back: its numbers, events and state exist once.
    assert sorted(p.digits or "" for p in await phones(db)) == [first, second]
    assert sorted(e.phone or "" for e in await all_events(db)) == [first, second]
    subjects = {subject for subject, _ in await state(db, waba) if subject.startswith("phone:")}
    assert subjects == {f"phone:{p.id}" for p in await phones(db)}


async def test_changes_of_one_batch_that_name_the_same_number_share_it(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    # By its digits only, then by its phone number id and digits (a message status's metadata).
    by_digits = quality_change("DOWNGRADE", "TIER_1K", display="15550783881")
    by_id = changes_of("messages__status_failed")[0]
    assert by_id["value"]["metadata"]["display_phone_number"] == "15550783881"
    await store_delivery(db, meta_app, body(entry(WABA_ID, [by_digits, by_id])))

    await Processor(db).run_until_idle()

    [phone] = await phones(db)
    assert (phone.digits, phone.phone_number_id) == ("15550783881", "106540352242922")
    events = sorted(await all_events(db), key=lambda e: e.id)
    assert [e.phone for e in events] == ["15550783881", "15550783881"]
    # The first event was stored before the number's id was known, and says so.
    assert [e.phone_number_id for e in events] == [None, "106540352242922"]


async def test_deliveries_split_together_keep_a_change_they_share_once_with_the_first(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    shared = quality_change("DOWNGRADE", "TIER_1K")
    first = await store_delivery(db, meta_app, body(entry(WABA_ID, [shared])))
    second = await store_delivery(
        db, meta_app, body(entry(WABA_ID, [shared, quality_change("UPGRADE", "TIER_10K")]))
    )
    broken = await store_delivery(db, meta_app, b"not json")

    with statements(db) as seen:
        assert await Processor(db).split_pending() == 3

    assert seen["SAVEPOINT"] == 1
    kept = sorted((c.delivery_id, c.value["event"]) for c in await all_changes(db))
    assert kept == [(first, "DOWNGRADE"), (second, "UPGRADE")]
    assert (await delivery(db, first)).status == DeliveryStatus.PROCESSED
    assert (await delivery(db, second)).status == DeliveryStatus.PROCESSED
    assert (await delivery(db, broken)).status == DeliveryStatus.FAILED
    assert "not JSON" in ((await delivery(db, broken)).last_error or "")


async def test_unrouted_and_routed_changes_of_one_batch_each_get_their_status(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    other_waba = "999000111222"
    await store_delivery(
        db,
        meta_app,
        body(
            entry(WABA_ID, [quality_change("DOWNGRADE", "TIER_1K")]),
            entry(other_waba, changes_of("security__pin_changed")),
        ),
    )

    await Processor(db).run_until_idle()

    statuses = {c.waba_id: (c.status, c.org_id) for c in await all_changes(db)}
    assert statuses == {
        WABA_ID: (ChangeStatus.PROCESSED, personas.org.id),
        other_waba: (ChangeStatus.UNROUTED, None),
    }
    assert [e.waba_id for e in await all_events(db)] == [WABA_ID]


async def test_batches_grow_while_work_is_waiting_and_shrink_once_it_is_done(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    for i in range(10):
        await store_delivery(
            db, meta_app, body(entry(WABA_ID, [quality_change("DOWNGRADE", f"T{i}")], time=i + 1))
        )
    # A generous time budget: only the doubling limits the growth here (see the test of BatchSize).
    processor = Processor(db, deliveries_per_batch=2, changes_per_batch=2, batch_seconds=60)

    assert [await processor.split_pending() for _ in range(4)] == [2, 4, 4, 0]
    assert [await processor.process_pending() for _ in range(4)] == [2, 4, 4, 0]

    # Caught up: the next batch is back to the set size.
    for i in range(3):
        await store_delivery(
            db, meta_app, body(entry(WABA_ID, [quality_change("UPGRADE", f"U{i}")], time=i + 1))
        )
    assert await processor.split_pending() == 2


def test_a_batch_grows_only_as_far_as_its_time_budget_allows() -> None:
    size = BatchSize(25, 1000, budget=0.025)
    size.after(25, 0.005)  # full, 0.2 ms a row: 125 would fit, but a batch at most doubles
    assert size.limit == 50
    size.after(50, 0.050)  # full, 1 ms a row: 25 fit in the budget
    assert size.limit == 25
    size.after(25, 0.001)
    size.after(50, 0.001)
    size.after(100, 0.001)
    assert size.limit == 200
    size.after(3, 0.001)  # not full: caught up, back to the least
    assert size.limit == 25


def status_change(n: int) -> dict[str, Any]:
    change = changes_of("messages__status_sent")[0]
    change["value"]["statuses"][0]["id"] = f"wamid.{n}"
    return change


async def test_a_batch_of_500_changes_costs_a_bounded_number_of_statements(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """Events, numbers, state and alerts of 500 changes (statuses, quality updates naming 100
    numbers, and their alerts through the org's default rule) in a few statements, not a few per
    change: counted twice, for new numbers and for known ones."""
    await register(db, personas.org, meta_app)
    processor = Processor(db, deliveries_per_batch=10, changes_per_batch=500, batch_seconds=60)
    for round_ in range(2):
        changes = [
            status_change(n) if n % 5 else quality_change("DOWNGRADE", "TIER_1K", display=f"1555{n:07d}")
            for n in range(500)
        ]
        for chunk in range(5):
            await store_delivery(
                db,
                meta_app,
                body(entry(WABA_ID, changes[chunk * 100 : (chunk + 1) * 100], time=1_748_000_000 + round_)),
            )
        while await processor.split_pending():
            pass
        with statements(db) as counted:
            assert await processor.process_pending() == 500
        assert sum(counted.values()) <= 30, counted
    assert len(await all_events(db)) == 1000
