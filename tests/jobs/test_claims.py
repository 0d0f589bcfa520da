"""Claiming rows of a queue table."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from app.db.engine import Database
from app.processing.processor import Processor


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
