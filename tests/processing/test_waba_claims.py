"""PostgreSQL: a worker claims the changes of WABAs no other worker holds, so two workers share a
backlog by WABA instead of queueing behind each other's WABA locks."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.wabas.models import Waba
from tests.factories import Personas
from tests.support.payloads import WABA_ID, body, entry, quality_change
from tests.support.rows import all_events, register, store_delivery

OTHER_WABA_ID = "104996122399999"


async def backlog(db: Database, meta_app: MetaApp, waba_id: str, first: int) -> None:
    changes = [quality_change("DOWNGRADE", f"T{n}", display=f"1555{first + n:07d}") for n in range(3)]
    await store_delivery(db, meta_app, body(entry(waba_id, changes, time=first)))


async def test_a_worker_processes_the_wabas_another_worker_does_not_hold_without_waiting(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: there are no WABA locks to share")
    busy, _ = await register(db, personas.org, meta_app, waba_id=WABA_ID)
    await register(db, personas.org, meta_app, waba_id=OTHER_WABA_ID)
    await backlog(db, meta_app, WABA_ID, 1)  # the oldest changes are the busy WABA's
    await backlog(db, meta_app, OTHER_WABA_ID, 100)
    processor = Processor(db)
    while await processor.split_pending():
        pass

    async with db.transaction() as other_worker:  # mid-batch on the busy WABA, holding its lock
        await other_worker.execute(select(Waba.id).where(Waba.id == busy.id).with_for_update())
        assert await asyncio.wait_for(processor.process_pending(), 10) == 3
        assert {event.waba_id for event in await all_events(db)} == {OTHER_WABA_ID}
        assert await asyncio.wait_for(processor.process_pending(), 10) == 0  # nothing it may take

    assert await processor.process_pending() == 3  # once released, the busy WABA's changes
    events = await all_events(db)
    assert sorted(event.waba_id for event in events) == [WABA_ID] * 3 + [OTHER_WABA_ID] * 3
