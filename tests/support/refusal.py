"""A database that refuses some events: a trigger on the events table, on SQLite or PostgreSQL, that
aborts the insert of any event whose summary holds a marker. Processing meets a real refusal from
the real database, as it would meet one for a row it cannot store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from app.db.engine import Database

MARKER = "REFUSED-BY-THE-DATABASE"
REASON = "the test database refuses this event"


@asynccontextmanager
async def events_refused(db: Database) -> AsyncIterator[None]:
    """While inside, inserting an event whose summary contains ``MARKER`` fails."""
    if db.is_sqlite:
        create = [
            "CREATE TRIGGER test_refuse_events BEFORE INSERT ON events "
            f"WHEN NEW.summary LIKE '%{MARKER}%' BEGIN SELECT RAISE(ABORT, '{REASON}'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS test_refuse_events"]
    else:
        create = [
            "CREATE FUNCTION test_refuse_events() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.summary LIKE '%{MARKER}%' THEN RAISE EXCEPTION '{REASON}'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER test_refuse_events BEFORE INSERT ON events "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_events()",
        ]
        drop = [
            "DROP TRIGGER IF EXISTS test_refuse_events ON events",
            "DROP FUNCTION IF EXISTS test_refuse_events()",
        ]
    async with db.engine.begin() as conn:
        for statement in create:
            await conn.execute(text(statement))
    try:
        yield
    finally:
        async with db.engine.begin() as conn:
            for statement in drop:
                await conn.execute(text(statement))
