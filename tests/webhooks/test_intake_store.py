"""The intake's batch store against the real database: batch size limits and lost connections."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time

import httpx2
import pytest
from sqlalchemy import func, select, text

from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.settings import Settings
from app.webhooks.models import WebhookDelivery
from app.webhooks.store import Checkpointer, SqliteBatchStore, open_batch_store
from app.webhooks.writer import GroupCommitWriter
from tests.support.meta_app import APP_ID, sign
from tests.support.payloads import body_for


async def count_deliveries(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


async def test_more_deliveries_waiting_than_one_statement_takes_are_split_into_batches(
    db: Database, meta_app: MetaApp, settings: Settings
) -> None:
    # One statement per batch: SQLite takes at most 32,766 parameters (11 a row) in one.
    store = open_batch_store(settings.database_url)
    waiting = store.max_rows + 500
    writer = GroupCommitWriter(
        store, on_commit=lambda: None, on_failure=lambda: None, max_batch=2 * waiting, max_pending=2 * waiting
    )
    writer.start()
    try:
        bodies = [body_for(n) for n in range(waiting)]
        results = await asyncio.gather(
            *(
                writer.submit(
                    app_pk=meta_app.id,
                    body=body,
                    sha256=hashlib.sha256(body).hexdigest(),
                    status="pending",
                    received_at=utcnow(),
                )
                for body in bodies
            )
        )
    finally:
        await writer.stop()
        await store.close()
    assert results == [True] * waiting
    assert writer.batches >= 2
    assert await count_deliveries(db) == waiting


async def test_a_connection_the_server_closed_costs_one_503_then_the_store_reconnects(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp, db_kind: str
) -> None:
    if db_kind != "postgresql":
        pytest.skip("SQLite has no server to drop the connection")

    async def post(n: int) -> int:
        body = body_for(n, "reconnect")
        response = await client.post(
            f"/webhooks/whatsapp/{APP_ID}", content=body, headers={"X-Hub-Signature-256": sign(body)}
        )
        return response.status_code

    assert await post(0) == 200  # the store's connection is open now
    async with db.engine.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE 'WITH stored AS (INSERT INTO webhook_deliveries%'"
            )
        )
    statuses = [await post(n) for n in range(1, 6)]
    assert statuses[0] in (200, 503)  # whether the writer noticed before or while sending
    assert statuses[1:] == [200] * 4
    assert await count_deliveries(db) == 1 + statuses.count(200)


async def test_deliveries_wait_for_a_write_lock_held_elsewhere_without_blocking_other_requests(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp, db_kind: str, settings: Settings
) -> None:
    """SQLite: another connection (the worker's) holds the one write lock. The deliveries are
    answered once they are committed after it lets go, and the app answers other requests meanwhile."""
    if db_kind != "sqlite":
        pytest.skip("SQLite's one write lock")
    path = settings.database_url.split("///", 1)[1]
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:

        async def post(n: int) -> int:
            body = body_for(n, "locked")
            response = await client.post(
                f"/webhooks/whatsapp/{APP_ID}", content=body, headers={"X-Hub-Signature-256": sign(body)}
            )
            return response.status_code

        posts = asyncio.gather(*(post(n) for n in range(20)))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        assert (await client.get("/healthz")).status_code == 200
        assert time.monotonic() - started < 0.2
        assert not posts.done()
        assert await count_deliveries(db) == 0
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert await asyncio.wait_for(posts, 5) == [200] * 20
    assert await count_deliveries(db) == 20


def _rows_for(app_pk: int, count: int, marker: str) -> list[dict[str, object]]:
    now = utcnow()
    rows: list[dict[str, object]] = []
    for n in range(count):
        body = body_for(n, marker)
        rows.append(
            {
                "app_pk": app_pk,
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "body": body,
                "size": len(body),
                "received_at": now,
                "client_cert_verified": None,
                "duplicate_count": 0,
                "last_duplicate_at": None,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
            }
        )
    return rows


@pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
async def test_sqlite_batches_are_committed_and_the_wal_is_checkpointed_off_the_loop(
    db: Database, meta_app: MetaApp, db_kind: str, settings: Settings, synchronous: str
) -> None:
    """The intake's own connection never checkpoints (that would wait for the disk on the event
    loop): its Checkpointer does, in a thread, once enough has been written. With FULL every commit
    waits for the disk, so the writer thread makes them."""
    if db_kind != "sqlite":
        pytest.skip("SQLite's write-ahead log")
    store = open_batch_store(settings.database_url, sqlite_synchronous=synchronous)
    assert isinstance(store, SqliteBatchStore)
    store._checkpointer = Checkpointer(store._path, every=64 * 1024)
    try:
        for batch in range(10):
            await store.store(_rows_for(meta_app.id, 50, f"wal-{batch}"))
        (autocheckpoint,) = store._connection().execute("PRAGMA wal_autocheckpoint").fetchone()
    finally:
        await store.close()
    assert autocheckpoint == 0
    assert store._checkpointer.checkpoints >= 1
    assert await count_deliveries(db) == 500
