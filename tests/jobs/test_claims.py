"""Claiming rows of a queue table."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.jobs import claims
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.webhooks import queries as webhooks_queries
from app.webhooks.models import WebhookDelivery
from tests.support.payloads import body_for
from tests.support.rows import all_deliveries, store_delivery


async def test_an_idle_pass_on_sqlite_does_not_wait_for_the_write_lock(
    db: Database, db_kind: str, database_url: str
) -> None:
    if db_kind != "sqlite":
        pytest.skip("SQLite has one write lock; PostgreSQL claims take row locks only")
    # Another connection (the receiver committing a batch, say) holds the write lock.
    holder = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        processor = Processor(db)
        # Nothing is due: the passes read that and end at once instead of queueing for the lock
        # (busy_timeout is 10 s).
        async with asyncio.timeout(2):
            assert await processor.split_pending() == 0
            assert await processor.process_pending() == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_a_claim_takes_at_most_its_limit_whatever_plan_the_database_picks(
    db: Database, meta_app: MetaApp
) -> None:
    """On PostgreSQL ``id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`` may be run again for each
    row the update visits (a nested loop); each run skips the rows the statement has just updated
    and locks the next ones, so the claim took every due row. Seen when the planner had statistics
    that made the nested loop cheapest; here it is made the only plan it may pick."""
    stored = [await store_delivery(db, meta_app, body_for(n)) for n in range(10)]
    async with db.transaction() as session:
        if not db.is_sqlite:
            for setting in (
                "enable_hashagg",
                "enable_sort",
                "enable_hashjoin",
                "enable_mergejoin",
                "enable_material",
            ):
                await session.execute(text(f"SET LOCAL {setting} = off"))
        claimed = await claims.claim(
            session,
            WebhookDelivery.id,
            WebhookDelivery.attempts,
            where=webhooks_queries.delivery_due(utcnow()),
            limit=2,
        )
    assert [delivery_id for delivery_id, _ in claimed] == stored[:2]
    assert sorted(d.attempts for d in await all_deliveries(db)) == [0] * 8 + [1] * 2
