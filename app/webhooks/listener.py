"""Wakes a separate ``wabawatch worker`` the moment the receiver commits deliveries (PostgreSQL).

The receiver's batch transaction ends with ``pg_notify(INTAKE_CHANNEL, '')``, delivered on commit;
each worker process listens on one connection and sets its wake-up event. Without it a worker in
another process only noticed new deliveries at its next poll (0.5 s), which alone cost most of the
webhook-to-timeline time. Polling stays as the fallback: a lost notification (the connection
dropping) delays work by at most one poll, it never loses it.
"""

from __future__ import annotations

import asyncio

from app.db.engine import Database
from app.db.pg_listen import PgListener, asyncpg_dsn

INTAKE_CHANNEL = "wabawatch_intake"


class IntakeListener(PgListener):
    def __init__(self, dsn: str, wakeup: asyncio.Event) -> None:
        # On (re)connect too: deliveries committed while nobody listened are waiting.
        super().__init__(
            dsn, INTAKE_CHANNEL, lambda _payload: wakeup.set(), on_connect=lambda _n: wakeup.set()
        )

    @classmethod
    def for_database(cls, db: Database, wakeup: asyncio.Event) -> IntakeListener | None:
        """None on SQLite, where the receiver and the worker share one process and one event."""
        return None if db.is_sqlite else cls(asyncpg_dsn(db), wakeup)
