"""Group commit: concurrent deliveries share commits, and a 200 always means the row is committed."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
from sqlalchemy import func, select, text

from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.main import Dispatcher
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.settings import Settings
from app.webhooks.models import WebhookDelivery
from app.webhooks.store import open_batch_store
from app.webhooks.writer import GroupCommitWriter, Overloaded
from tests.support.meta_app import APP_ID, sign
from tests.support.payloads import body_for

URL = f"/webhooks/whatsapp/{APP_ID}"


async def post(client: httpx2.AsyncClient, body: bytes) -> int:
    response = await client.post(URL, content=body, headers={"X-Hub-Signature-256": sign(body)})
    return response.status_code


async def stored_hashes(db: Database) -> dict[str, int]:
    async with db.read() as session:
        rows = await session.execute(select(WebhookDelivery.body_sha256, WebhookDelivery.duplicate_count))
        return {sha: dup for sha, dup in rows}


async def stored_hashes_rows(db: Database) -> list[tuple[str, int]]:
    async with db.read() as session:
        rows = await session.execute(select(WebhookDelivery.body_sha256, WebhookDelivery.duplicate_count))
        return [(sha, dup) for sha, dup in rows]


@asynccontextmanager
async def refusing_inserts(db: Database, *, only_marker: str | None = None) -> AsyncIterator[None]:
    """A trigger that makes the database itself refuse rows (all of them, or those with the marker)."""
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            when = f"WHEN instr(NEW.body, CAST('{only_marker}' AS BLOB)) > 0" if only_marker else ""
            await conn.execute(
                text(
                    f"CREATE TRIGGER refuse_deliveries BEFORE INSERT ON webhook_deliveries {when} "
                    "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE FUNCTION refuse_deliveries() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused by test'; END $$"
                )
            )
            when = (
                f"WHEN (position(convert_to('{only_marker}', 'UTF8') in NEW.body) > 0)" if only_marker else ""
            )
            await conn.execute(
                text(
                    "CREATE TRIGGER refuse_deliveries BEFORE INSERT ON webhook_deliveries "
                    f"FOR EACH ROW {when} EXECUTE FUNCTION refuse_deliveries()"
                )
            )
    try:
        yield
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(
                text("DROP TRIGGER refuse_deliveries" + ("" if db.is_sqlite else " ON webhook_deliveries"))
            )
            if not db.is_sqlite:
                await conn.execute(text("DROP FUNCTION refuse_deliveries()"))


async def test_200_concurrent_deliveries_are_all_answered_200_and_stored_once(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp, app: Dispatcher
) -> None:
    writer = app.webhooks.writer  # type: ignore[attr-defined]
    batches_before = writer.batches
    bodies = [body_for(n) for n in range(195)] + [body_for(7)] * 5  # one body six times
    statuses = await asyncio.gather(*(post(client, b) for b in bodies))
    assert statuses == [200] * 200
    # Every 200 is accounted for at once: copies in one batch are one row that counts them, copies
    # in different batches are rows of their own until the worker folds them.
    received = await stored_hashes_rows(db)
    assert len(received) + sum(dup for _, dup in received) == 200
    await Processor(db).run_until_idle()
    stored = await stored_hashes(db)
    assert len(stored) == 195
    assert stored == {hashlib.sha256(b).hexdigest(): (5 if b == body_for(7) else 0) for b in bodies}
    # Group commit: far fewer transactions than requests.
    assert writer.batches - batches_before < 100


async def test_database_refusing_the_commit_answers_503_and_stores_nothing(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    async with refusing_inserts(db):
        statuses = await asyncio.gather(*(post(client, body_for(n)) for n in range(20)))
        assert statuses == [503] * 20
        assert await stored_hashes(db) == {}
    # Meta retries; now the database takes it.
    assert await post(client, body_for(0)) == 200
    assert list(await stored_hashes(db)) == [hashlib.sha256(body_for(0)).hexdigest()]


async def test_a_refused_row_fails_its_whole_batch_and_only_200s_are_stored(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    bodies = [body_for(n, "poison" if n == 10 else "") for n in range(40)]
    async with refusing_inserts(db, only_marker="poison"):
        statuses = await asyncio.gather(*(post(client, b) for b in bodies))
    assert statuses[10] == 503
    assert set(statuses) <= {200, 503}
    assert statuses.count(503) > 1  # the poisoned row's batch mates were refused with it
    stored = await stored_hashes(db)
    answered_200 = {hashlib.sha256(b).hexdigest() for b, s in zip(bodies, statuses, strict=True) if s == 200}
    assert set(stored) == answered_200


async def test_a_full_queue_answers_overloaded_instead_of_growing(
    db: Database, meta_app: MetaApp, settings: Settings
) -> None:
    woken: list[bool] = []
    store = open_batch_store(settings.database_url)
    writer = GroupCommitWriter(
        store, on_commit=lambda: woken.append(True), on_failure=lambda: None, max_pending=3
    )
    writer.start()
    try:

        async def submit(n: int) -> bool | str:
            body = body_for(n)
            try:
                return await writer.submit(
                    app_pk=meta_app.id,
                    body=body,
                    sha256=hashlib.sha256(body).hexdigest(),
                    status="pending",
                    received_at=utcnow(),
                )
            except Overloaded:
                return "overloaded"

        results = await asyncio.gather(*(submit(n) for n in range(6)))
    finally:
        await writer.stop()
        await store.close()
    assert results == [True, True, True, "overloaded", "overloaded", "overloaded"]
    assert len(await stored_hashes(db)) == 3
    assert woken


async def test_stopping_the_writer_commits_what_is_queued(
    db: Database, meta_app: MetaApp, settings: Settings
) -> None:
    store = open_batch_store(settings.database_url)
    writer = GroupCommitWriter(store, on_commit=lambda: None, on_failure=lambda: None)
    writer.start()
    tasks = [
        asyncio.create_task(
            writer.submit(
                app_pk=meta_app.id,
                body=body_for(n),
                sha256=hashlib.sha256(body_for(n)).hexdigest(),
                status="pending",
                received_at=utcnow(),
            )
        )
        for n in range(10)
    ]
    await asyncio.sleep(0)
    await writer.stop()
    await store.close()
    assert await asyncio.gather(*tasks) == [True] * 10
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 10


async def test_a_commit_wakes_the_intake_worker(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp, app: Dispatcher
) -> None:
    wakeup = app.state.services.intake_wakeup
    wakeup.clear()
    woken = asyncio.create_task(wakeup.wait())  # an in-process worker may clear it again at once
    assert await post(client, body_for(1)) == 200
    await asyncio.wait_for(woken, 2)


async def test_a_delivery_waits_for_a_write_lock_held_elsewhere_then_is_stored(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.exec_driver_sql(
                "BEGIN IMMEDIATE"
            )  # SQLite's single write lock, as the worker takes it
        else:
            await conn.begin()
            await conn.execute(text("LOCK TABLE webhook_deliveries IN EXCLUSIVE MODE"))
        posted = asyncio.create_task(post(client, body_for(1)))
        await asyncio.sleep(0.3)
        assert not posted.done()  # not answered while the delivery cannot be committed
        await conn.rollback()
    assert await posted == 200
    assert list(await stored_hashes(db)) == [hashlib.sha256(body_for(1)).hexdigest()]
