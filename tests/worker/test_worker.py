"""The worker loop: several workers on one PostgreSQL, the in-process worker, clean stops."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from app.db.engine import Database, make_engine
from app.events.models import Event
from app.jobs.runner import Pass, Worker
from app.main import Dispatcher
from app.processing.processor import Processor
from app.settings import Settings
from app.wabas.models import PhoneNumber, StateEntry, Waba
from app.webhooks.models import ChangeStatus, DeliveryStatus, WebhookChange, WebhookDelivery
from tests.factories import Personas, create_meta_app, running_app
from tests.support.meta_app import APP_ID, sign
from tests.support.payloads import WABA_ID, body, entry, fixture, quality_change
from tests.support.rows import all_events, register, store_delivery
from tests.support.settings import TEST_KEY


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_two_workers_on_postgresql_process_every_change_exactly_once(
    db: Database, db_kind: str, database_url: str, personas: Personas
) -> None:
    if db_kind != "postgresql":
        pytest.skip("SKIP LOCKED claims are a PostgreSQL matter; SQLite runs one worker")
    meta_app = await create_meta_app(db)
    await register(db, personas.org, meta_app)
    deliveries = 24
    for i in range(deliveries):
        # Three changes of its own plus one of five shared ones (Meta's duplicates across batches).
        own = [quality_change("DOWNGRADE", f"TIER_{i}_{k}") for k in range(3)]
        shared = quality_change("UPGRADE", f"SHARED_{i % 5}")
        await store_delivery(
            db,
            meta_app,
            body(entry(WABA_ID, own, time=1_748_000_000 + i), entry(WABA_ID, [shared], time=1_748_000_000)),
        )
    distinct = deliveries * 3 + 5

    engines = [Database(make_engine(database_url)) for _ in range(2)]
    processors = [Processor(e, deliveries_per_batch=3, changes_per_batch=7) for e in engines]
    workers = [Worker(p.passes(), poll_interval=0.02) for p in processors]
    tasks = [w.start(f"worker-{n}") for n, w in enumerate(workers)]

    async def all_done() -> bool:
        async with db.read() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.status == DeliveryStatus.PENDING)
            )
            open_changes = await session.scalar(
                select(func.count())
                .select_from(WebhookChange)
                .where(WebhookChange.status != ChangeStatus.PROCESSED)
            )
            return waiting == 0 and open_changes == 0

    try:
        await eventually(all_done)
    finally:
        for w in workers:
            await w.close()
        for e in engines:
            await e.dispose()
    assert all(t.done() and t.exception() is None for t in tasks)

    async with db.read() as session:
        change_attempts = list(await session.scalars(select(WebhookChange.attempts)))
        delivery_attempts = list(await session.scalars(select(WebhookDelivery.attempts)))
        events = await session.scalar(select(func.count()).select_from(Event))
    assert len(change_attempts) == distinct
    assert set(change_attempts) == {1}, "a change was claimed twice"
    assert set(delivery_attempts) == {1}, "a delivery was claimed twice"
    assert events == distinct
    # Both took part.
    assert all(p.changes_claimed > 0 for p in processors)
    assert sum(p.changes_claimed for p in processors) == distinct
    assert sum(p.deliveries_claimed for p in processors) == deliveries


async def test_the_in_process_worker_processes_a_webhook_as_soon_as_it_is_stored(
    settings: Settings, db: Database, app: Dispatcher, personas: Personas
) -> None:
    meta_app = await create_meta_app(db)
    await register(db, personas.org, meta_app)
    raw = (
        b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1748811473,'
        b'"changes":[{"field":"security","value":{"display_phone_number":"15550783881","event":"PIN_CHANGED"}}]}]}'
    )
    async with running_app(settings, worker_in_process=True) as client:
        worker = client._transport.app.state.worker  # type: ignore[attr-defined]
        assert worker is not None
        # From now on only a wake-up can make it look before a minute has passed.
        worker.poll_interval = 60.0
        await asyncio.sleep(0.7)
        response = await client.post(
            f"/webhooks/whatsapp/{APP_ID}",
            content=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)},
        )
        assert response.status_code == 200

        async def has_event() -> bool:
            return len(await all_events(db)) == 1

        await eventually(has_event, timeout=15)
    assert worker.stopping
    assert [e.kind for e in await all_events(db)] == ["pin_changed"]


async def test_the_in_process_worker_is_off_for_postgresql_unless_asked(
    settings: Settings, db: Database
) -> None:
    async with running_app(settings, worker_in_process=None) as client:
        state = client._transport.app.state  # type: ignore[attr-defined]
        assert (state.worker is not None) == db.is_sqlite


async def test_a_failing_pass_does_not_stop_the_worker() -> None:
    calls: list[str] = []

    async def flaky() -> int:
        calls.append("x")
        if len(calls) < 3:
            raise RuntimeError("database restarting")
        return 0

    worker = Worker([Pass("flaky", flaky)], poll_interval=0.01)
    task = worker.start()
    while len(calls) < 4:
        await asyncio.sleep(0.01)
    await worker.close()
    assert task.done()
    assert worker.errors == 2


async def test_wabawatch_worker_processes_and_exits_cleanly_on_sigterm(
    db: Database, database_url: str, personas: Personas, tmp_path: Path
) -> None:
    meta_app = await create_meta_app(db)
    await register(db, personas.org, meta_app)
    await store_delivery(db, meta_app, fixture("account_review_update__approved"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEYS": TEST_KEY,
        "ENV": "development",
    }
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "wabawatch"), "worker"],
        env=env,
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        async def has_event() -> bool:
            return len(await all_events(db)) == 1

        await eventually(has_event, timeout=20)
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output.decode()
    # Its log lines are JSON objects, like the web process's (LOG_FORMAT defaults to json).
    lines = [line for line in output.decode().splitlines() if line.strip()]
    assert lines
    assert {json.loads(line)["message"] for line in lines} >= {"worker stopped"}
    assert b"worker stopped" in output


async def _run_workers(database_url: str, count: int, db: Database) -> None:
    engines = [Database(make_engine(database_url)) for _ in range(count)]
    processors = [Processor(e, deliveries_per_batch=2, changes_per_batch=5) for e in engines]
    workers = [Worker(p.passes(), poll_interval=0.02) for p in processors]
    for n, w in enumerate(workers):
        w.start(f"worker-{n}")

    async def all_done() -> bool:
        async with db.read() as session:
            open_changes = await session.scalar(
                select(func.count())
                .select_from(WebhookChange)
                .where(WebhookChange.status != ChangeStatus.PROCESSED)
            )
            waiting = await session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.status == DeliveryStatus.PENDING)
            )
            return waiting == 0 and open_changes == 0

    try:
        await eventually(all_done)
    finally:
        for w in workers:
            await w.close()
        for e in engines:
            await e.dispose()


async def _current_state(db: Database) -> dict[tuple[str, str, str], object]:
    """(WABA id, number or "waba", key) -> value: the state as people see it, whatever the row ids."""
    async with db.read() as session:
        wabas = {w.id: w.waba_id for w in await session.scalars(select(Waba))}
        phones = {f"phone:{p.id}": p.digits or "" for p in await session.scalars(select(PhoneNumber))}
        entries = list(await session.scalars(select(StateEntry)))
    return {(wabas[e.waba_pk], phones.get(e.subject, e.subject), e.key): e.value for e in entries}


async def test_two_postgresql_workers_leave_the_same_current_state_as_one(
    db: Database, db_kind: str, database_url: str, personas: Personas
) -> None:
    if db_kind != "postgresql":
        pytest.skip("SKIP LOCKED claims are a PostgreSQL matter; SQLite runs one worker")
    meta_app = await create_meta_app(db)
    wabas = [WABA_ID, "102290129340399"]
    for waba_id in wabas:
        await register(db, personas.org, meta_app, waba_id=waba_id)
    # Each number's limit moves many times, the deliveries stored out of order of the events.
    times = list(range(40))
    random.Random(3).shuffle(times)
    for t in times:
        for waba_id in wabas:
            changes = [quality_change("DOWNGRADE", f"TIER_{t}", display=f"155500{n}") for n in range(3)]
            await store_delivery(db, meta_app, body(entry(waba_id, changes, time=1_748_000_000 + t)))

    await _run_workers(database_url, 1, db)
    one = await _current_state(db)
    events_of_one = len(await all_events(db))
    async with db.transaction() as session:
        for model in (StateEntry, Event, WebhookChange, PhoneNumber):
            await session.execute(delete(model))
        await session.execute(
            update(WebhookDelivery).values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None)
        )
    await _run_workers(database_url, 2, db)

    assert await _current_state(db) == one
    assert {v["tier"] for (_, number, key), v in one.items() if key == "messaging_limit"} == {"TIER_39"}  # type: ignore[index]
    async with db.read() as session:
        keys = (await session.execute(select(Event.change_id, Event.seq))).all()
    assert len(keys) == len(set(keys)) == events_of_one
