"""Writers take turns at SQLite's one write lock: intake at full speed cannot starve a processing
batch or an alert outcome (on PostgreSQL nothing is serialised, and the same bound holds)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from typing import Any

import pytest
from sqlalchemy import event

from app.alerts import outbox
from app.alerts.sender import AlertSender, Outcome
from app.alerts.transports import Registry
from app.db.engine import Database
from app.db.writes import WriteGate
from app.events.parsed import ParsedEvent
from app.events.parsing import parse_change
from app.lib.timeutil import utcnow
from app.live.publish import publisher
from app.meta.models import MetaApp
from app.processing import processor as processor_module
from app.processing.processor import Processor
from app.settings import Settings
from app.webhooks.store import open_batch_store
from app.webhooks.writer import GroupCommitWriter
from tests.factories import Personas
from tests.support.payloads import WABA_ID, body, entry, quality_change
from tests.support.rows import all_events, register, store_delivery

BOUND_SECONDS = 2.0
CLIENTS = 16


def delivery(client: int, n: int) -> bytes:
    change = quality_change("DOWNGRADE", "TIER_1K", display=f"1555{client:03d}{n:04d}")
    return str(body(entry(WABA_ID, [change], time=1_700_000_000 + n))).encode()


async def test_intake_at_full_speed_cannot_starve_processing_or_an_alert_outcome(
    db: Database, settings: Settings, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    for n in range(50):
        await store_delivery(
            db, meta_app, body(entry(WABA_ID, [quality_change("DOWNGRADE", f"T{n}")], time=n + 1))
        )
    async with db.transaction() as session:
        await outbox.enqueue_notice(
            session, org_id=personas.org.id, to=["owner@example.com"], title="t", summary="s", link="/"
        )
    store = open_batch_store(settings.database_url, gate=db.write_gate)
    writer = GroupCommitWriter(store, on_commit=lambda: None, on_failure=lambda: None)
    writer.start()
    stop = asyncio.Event()
    stored = 0

    async def client(number: int) -> None:
        nonlocal stored
        n = 0
        while not stop.is_set():
            raw = delivery(number, n)
            sha = hashlib.sha256(raw).hexdigest()
            assert await writer.submit(
                app_pk=meta_app.id, body=raw, sha256=sha, status="pending", received_at=utcnow()
            )
            stored += 1
            n += 1

    clients = [asyncio.create_task(client(n)) for n in range(CLIENTS)]
    try:
        await asyncio.sleep(0.3)  # intake is busy
        before = stored
        processor = Processor(db, deliveries_per_batch=50, changes_per_batch=50)
        started = time.monotonic()
        assert await processor.split_pending() == 50
        assert await processor.process_pending() == 50
        processing = time.monotonic() - started

        sender = AlertSender(db, Registry({}))
        started = time.monotonic()
        [claimed] = await sender.claim()
        await sender.record([Outcome(claimed, None)])
        alert = time.monotonic() - started
        assert stored > before  # intake went on meanwhile
    finally:
        stop.set()
        await asyncio.gather(*clients)
        await writer.stop()
        await store.close()
    assert processing < BOUND_SECONDS
    assert alert < BOUND_SECONDS
    if db.is_sqlite:
        assert db.write_gate.longest_wait < BOUND_SECONDS


async def pending_changes(db: Database, meta_app: MetaApp, count: int) -> None:
    """``count`` routed changes split and waiting to be processed."""
    changes = [quality_change("DOWNGRADE", "TIER_1K", display=f"1555{n:07d}") for n in range(count)]
    for at in range(0, count, 100):
        await store_delivery(db, meta_app, body(entry(WABA_ID, changes[at : at + 100])))
    while await Processor(db, deliveries_per_batch=50).split_pending():
        pass


async def test_a_processing_batch_parses_its_changes_before_it_takes_the_write_turn(
    db: Database, personas: Personas, meta_app: MetaApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Intake batches wait behind a processing batch's writes, not behind its parsing."""
    if not db.write_gate.enabled:
        pytest.skip("PostgreSQL serialises no writers: there is no turn")
    await register(db, personas.org, meta_app)
    await pending_changes(db, meta_app, 500)
    parsed = in_turn = 0

    def parse_watched(**change: Any) -> list[ParsedEvent]:  # the real parser, counted
        nonlocal parsed, in_turn
        parsed += 1
        in_turn += db.write_gate.holding()
        return parse_change(**change)

    monkeypatch.setattr(processor_module, "parse_change", parse_watched)
    processor = Processor(db, changes_per_batch=500, batch_seconds=60)
    assert await processor.process_pending() == 500
    assert (parsed, in_turn) == (500, 0)
    assert len(await all_events(db)) == 500


async def test_changes_another_writer_processed_after_the_batch_read_them_are_not_processed_again(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """A batch reads and parses its changes before its turn; by then another writer may have taken
    them. Its claim takes only those still due: every change makes its events once."""
    if not db.write_gate.enabled:
        pytest.skip("PostgreSQL serialises no writers: there is no turn")
    await register(db, personas.org, meta_app)
    await pending_changes(db, meta_app, 50)
    late = Processor(db, changes_per_batch=50)
    async with db.write_gate.turn():
        batch = asyncio.create_task(late.process_pending())
        for _ in range(1000):  # until it has read its changes and waits for its turn
            if db.write_gate.waiting:
                break
            await asyncio.sleep(0.005)
        assert db.write_gate.waiting == 1
        # The turn is this task's: another processor takes the same changes meanwhile.
        assert await Processor(db, changes_per_batch=50).process_pending() == 50
    assert await batch == 0
    events = await all_events(db)
    assert len(events) == 50
    assert len({event.change_id for event in events}) == 50


async def test_the_gate_serves_writers_in_the_order_they_came() -> None:
    gate = WriteGate(enabled=True)
    order: list[int] = []

    async def writer(n: int) -> None:
        async with gate.turn():
            order.append(n)
            await asyncio.sleep(0.001)

    async with gate.turn():
        tasks = [asyncio.create_task(writer(n)) for n in range(20)]
        await asyncio.sleep(0.01)  # all of them wait now, in this order
        async with gate.turn():  # the same task again: passes through
            pass
    await asyncio.gather(*tasks)
    assert order == list(range(20))


async def test_writers_on_two_event_loops_share_one_queue() -> None:
    gate = WriteGate(enabled=True)
    inside = 0
    most = 0

    async def writers() -> None:
        nonlocal inside, most

        async def one() -> None:
            nonlocal inside, most
            async with gate.turn():
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.0005)
                inside -= 1

        await asyncio.gather(*(one() for _ in range(50)))

    await asyncio.gather(writers(), asyncio.to_thread(asyncio.run, writers()))
    assert most == 1


def tables_touched(db: Database) -> tuple[list[tuple[str, str]], list[tuple[str, str]], Any]:
    """(verb, first table) of each statement, sorted by whether the running task held the write
    turn when it was sent; and the listener (to remove)."""
    before: list[tuple[str, str]] = []
    inside: list[tuple[str, str]] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.split(None, 1)[0].upper()
        found = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement, re.I)
        (inside if db.write_gate.holding() else before).append((verb, found.group(1) if found else ""))

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    return before, inside, note


async def test_a_batch_reads_what_it_needs_before_its_turn_and_holds_the_turn_for_its_writes(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """What a split or processing batch reads (its rows, their WABAs, numbers, state, earlier events,
    the org's alert rules) is read before it takes the write turn: intake batches queue behind its
    writes only. Inside the turn it reads only what its own writes decide (repeats of a body,
    routing, the events it made and their storm-control groups)."""
    if not db.write_gate.enabled:
        pytest.skip("PostgreSQL serialises no writers: there is no turn")
    await register(db, personas.org, meta_app)
    changes = [quality_change("DOWNGRADE", f"T{n}", display=f"1555{n:07d}") for n in range(200)]
    for at in range(0, 200, 20):
        await store_delivery(db, meta_app, body(entry(WABA_ID, changes[at : at + 20], time=at + 1)))
    processor = Processor(db, deliveries_per_batch=10, changes_per_batch=200, batch_seconds=60)

    before, inside, listener = tables_touched(db)
    try:
        assert await processor.split_pending() == 10
        split_before, split_inside = list(before), list(inside)
        before.clear()
        inside.clear()
        assert await processor.process_pending() == 200
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listener)

    assert ("SELECT", "webhook_deliveries") in split_before
    assert {verb for verb, _ in split_before} == {"SELECT"}
    assert {table for verb, table in split_inside if verb == "SELECT"} <= {"webhook_deliveries", "wabas"}
    assert {verb for verb, _ in split_inside} >= {"UPDATE", "INSERT"}

    read_first = {table for _, table in before}
    assert {
        "webhook_changes",
        "wabas",
        "events",
        "phone_numbers",
        "state_entries",
        "alert_rules",
    } <= read_first
    assert {verb for verb, _ in before} == {"SELECT"}
    assert {table for verb, table in inside if verb == "SELECT"} <= {"events", "alert_deliveries"}
    assert len(await all_events(db)) == 200


async def test_what_only_reads_takes_no_write_turn(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """The alert sender, woken after every processing batch, finds nothing due by a read; the live
    publisher reads the events' orgs: neither queues behind intake for the write turn."""
    if not db.write_gate.enabled:
        pytest.skip("PostgreSQL serialises no writers: there is no turn")
    await register(db, personas.org, meta_app)
    await pending_changes(db, meta_app, 5)
    processor = Processor(db)
    created: list[int] = []

    async def collect(event_ids: Any) -> None:
        created.extend(event_ids)

    processor.hooks.append(collect)
    assert await processor.process_pending() == 5
    turns = db.write_gate.turns

    assert await AlertSender(db, Registry({})).claim() == []
    await publisher(db)(created)

    assert len(created) == 5
    assert db.write_gate.turns == turns


async def test_waiting_for_the_turn_does_not_shrink_the_next_batch(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """A batch is sized by how long it held the turn: time spent queued behind intake is not its
    pace, or a backlog would be worked in ever smaller batches just when it needs large ones."""
    if not db.write_gate.enabled:
        pytest.skip("PostgreSQL serialises no writers: there is no turn")
    await register(db, personas.org, meta_app)
    await pending_changes(db, meta_app, 30)
    processor = Processor(db, changes_per_batch=10, batch_seconds=0.2)
    async with db.write_gate.turn():  # another writer keeps the turn for a second
        batch = asyncio.create_task(processor.process_pending())
        for _ in range(1000):
            if db.write_gate.waiting:
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(1.0)
    assert await batch == 10
    assert await processor.process_pending() == 20  # it doubled: the wait did not count as its pace
