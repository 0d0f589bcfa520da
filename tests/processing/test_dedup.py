"""A body Meta sends again is kept once: the intake appends, the worker folds the copies."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.processing.dedup import kept_query, lock_key
from app.processing.processor import Processor
from app.processing.split import split_deliveries
from app.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.factories import Personas, create_meta_app
from tests.support.payloads import WABA_ID, body, changes_of, entry
from tests.support.query_plans import plan
from tests.support.rows import all_changes, all_deliveries, all_events, register, store_delivery

PIN_CHANGED = json.dumps(body(entry(WABA_ID, changes_of("security__pin_changed")))).encode()


async def test_a_copy_of_a_body_kept_already_is_folded_into_it(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    first = await store_delivery(db, meta_app, PIN_CHANGED, received_at=utcnow() - timedelta(seconds=5))
    await Processor(db).run_until_idle()
    later = utcnow()
    await store_delivery(db, meta_app, PIN_CHANGED, received_at=later)

    await Processor(db).run_until_idle()

    [kept] = await all_deliveries(db)
    assert kept.id == first
    assert kept.status == DeliveryStatus.PROCESSED
    assert kept.duplicate_count == 1
    assert kept.last_duplicate_at == later
    assert len(await all_changes(db)) == 1
    assert len(await all_events(db)) == 1


async def test_copies_in_one_batch_are_one_row_counting_the_others(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    ids = [await store_delivery(db, meta_app, PIN_CHANGED) for _ in range(3)]
    other = await store_delivery(db, meta_app, b'{"object":"whatsapp_business_account","entry":[]}')

    await Processor(db, deliveries_per_batch=10).run_until_idle()

    rows = await all_deliveries(db)
    assert [r.id for r in rows] == [ids[0], other]
    assert rows[0].duplicate_count == 2
    assert rows[1].duplicate_count == 0
    assert len(await all_events(db)) == 1


async def test_a_copy_that_had_counted_repeats_itself_brings_them_along(
    db: Database, meta_app: MetaApp
) -> None:
    """Copies in one intake batch arrive as one row with their own count."""
    await store_delivery(db, meta_app, PIN_CHANGED)
    await Processor(db).run_until_idle()
    copy = await store_delivery(db, meta_app, PIN_CHANGED)
    async with db.transaction() as session:
        row = await session.get(WebhookDelivery, copy)
        assert row is not None
        row.duplicate_count = 3

    await Processor(db).run_until_idle()

    [kept] = await all_deliveries(db)
    assert kept.duplicate_count == 4


async def test_an_older_copy_waiting_for_a_retry_gives_the_kept_row_its_first_time(
    db: Database, meta_app: MetaApp
) -> None:
    """The first copy failed to split and waits for its retry; a later copy is split meanwhile and
    kept. When the first one's retry comes, the kept row says when the body first arrived."""
    start = utcnow()
    older = await store_delivery(db, meta_app, PIN_CHANGED, received_at=start)
    async with db.transaction() as session:
        row = await session.get(WebhookDelivery, older)
        assert row is not None
        row.attempts, row.next_attempt_at = 1, start + timedelta(minutes=5)
    newer = await store_delivery(db, meta_app, PIN_CHANGED, received_at=start + timedelta(minutes=1))
    await Processor(db, clock=lambda: start + timedelta(minutes=2)).run_until_idle()
    assert [(r.id, r.status) for r in await all_deliveries(db)] == [(older, "pending"), (newer, "processed")]

    await Processor(db, clock=lambda: start + timedelta(minutes=6)).run_until_idle()

    [kept] = await all_deliveries(db)
    assert kept.id == newer
    assert kept.received_at == start
    assert kept.last_duplicate_at == start + timedelta(minutes=1)
    assert kept.duplicate_count == 1


async def test_the_same_body_for_two_apps_is_kept_for_each(db: Database, meta_app: MetaApp) -> None:
    """Meta sends one notification to every subscribed app: each app's copy is its own delivery."""
    other_app = await create_meta_app(db, app_id="2222222222", name="Other app")
    await store_delivery(db, meta_app, PIN_CHANGED)
    await store_delivery(db, other_app, PIN_CHANGED)

    await Processor(db).run_until_idle()

    rows = await all_deliveries(db)
    assert sorted(r.app_pk for r in rows) == sorted([meta_app.id, other_app.id])
    assert [r.duplicate_count for r in rows] == [0, 0]


async def test_the_kept_row_is_found_through_the_partial_index(db: Database) -> None:
    found = await plan(db, kept_query({(1, "ab" * 32), (1, "cd" * 32)}))
    assert "uq_webhook_deliveries_app_body" in found


def test_lock_keys_are_signed_32_bit_numbers() -> None:
    keys = [lock_key((app_pk, sha)) for app_pk in (1, 2**40) for sha in ("0" * 64, "f" * 64, "8" * 64)]
    assert all(-(2**31) <= key < 2**31 for key in keys)
    assert lock_key((1, "f" * 64)) != lock_key((2, "f" * 64))


async def test_two_workers_holding_copies_of_one_body_keep_it_once(
    db: Database, meta_app: MetaApp, db_kind: str
) -> None:
    """PostgreSQL: SKIP LOCKED hands two workers two copies at once. The second waits for the
    first to commit (instead of splitting its copy too and failing on the unique index), then
    folds its copy into the row the first kept."""
    if db_kind != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    first = await store_delivery(db, meta_app, PIN_CHANGED)
    second = await store_delivery(db, meta_app, PIN_CHANGED)
    now = utcnow()

    async def split(delivery_id: int, hold: asyncio.Event | None = None) -> None:
        async with db.transaction() as session:
            row = await session.get(WebhookDelivery, delivery_id)
            assert row is not None
            await split_deliveries(session, [row], now=now)
            if hold is not None:
                await hold.wait()

    release = asyncio.Event()
    one = asyncio.create_task(split(first, release))
    await asyncio.sleep(0.2)  # the first holds its lock, its copy split but not committed
    two = asyncio.create_task(split(second))
    await asyncio.sleep(0.3)
    assert not two.done()  # waiting for the first
    release.set()
    await asyncio.gather(one, two)

    [kept] = await all_deliveries(db)
    assert kept.id == first
    assert kept.status == DeliveryStatus.PROCESSED
    assert kept.duplicate_count == 1


async def test_a_pending_copy_can_sit_beside_the_kept_row_until_the_worker_comes(
    db: Database, meta_app: MetaApp
) -> None:
    """The index leaves pending rows out; every other row is one per body."""
    await store_delivery(db, meta_app, PIN_CHANGED)
    await Processor(db).run_until_idle()
    await store_delivery(db, meta_app, PIN_CHANGED)
    assert len(await all_deliveries(db)) == 2
    with pytest.raises(Exception, match=r"(?i)unique"):
        async with db.transaction() as session:
            await session.execute(text("UPDATE webhook_deliveries SET status = 'processed'"))
