"""The worker's retention pass: once per ``every`` it purges in batches, one short transaction per
batch, until a batch finds nothing due; in between it costs nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from app.db.engine import Database
from app.jobs.periodic import Gate
from app.lib.timeutil import utcnow
from app.retention.service import Purged, purge_batch
from app.settings import Settings

log = logging.getLogger(__name__)


class PeriodicPurge:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        every: timedelta = timedelta(hours=1),
        batch: int = 500,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.every = every
        self.batch = batch
        self.clock = clock
        self._gate = Gate()
        self._round = Purged()

    async def run(self) -> int:
        """Rows purged by this call (the worker calls again at once while it is above 0)."""
        now = self.clock()
        if self._gate.is_shut(now):
            return 0
        async with self.db.transaction() as session:
            done = await purge_batch(session, self.settings, now=now, batch=self.batch)
        self._round.add(done)
        # Every kind short of a full batch: nothing more is due.
        if max(done.counts()) < self.batch:
            if self._round.total:
                r = self._round
                log.info(
                    "retention: %d delivery bodies emptied, %d messages events, %d changes, %d sign-in"
                    " attempts and %d ended sessions deleted",
                    r.bodies,
                    r.events,
                    r.changes,
                    r.logins,
                    r.sessions,
                )
            self._round = Purged()
            self._gate.shut_for(self.every, now=now)
        return done.total


async def purge_all(db: Database, settings: Settings, *, now: datetime, batch: int = 500) -> Purged:
    """Everything due at ``now``, batch after batch (tests and one-off runs)."""
    total = Purged()
    while True:
        async with db.transaction() as session:
            done = await purge_batch(session, settings, now=now, batch=batch)
        total.add(done)
        if done.total == 0:
            return total
