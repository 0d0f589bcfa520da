"""The worker's ``staff.index`` pass: keeps the staff search's terms (``app.staff.terms``) current.

New events, orgs, WABAs and numbers are indexed every ``every_new`` (a search also catches up on
what is left); renames are found by re-reading every name every ``every_names``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from app.db.engine import Database
from app.jobs.periodic import Gate
from app.lib.timeutil import utcnow
from app.staff import terms


class PeriodicIndex:
    def __init__(
        self,
        db: Database,
        *,
        every_new: timedelta = timedelta(seconds=30),
        every_names: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.every_new = every_new
        self.every_names = every_names
        self.clock = clock
        self._new = Gate()
        self._names = Gate()

    async def run(self) -> int:
        """Events indexed by this call (the worker calls again at once while it is above 0)."""
        now = self.clock()
        done = 0
        if not self._new.is_shut(now):
            async with self.db.transaction() as session:
                await terms.index_new_names(session)
                done = await terms.index_events(session)
            if done < terms.EVENT_BATCH:
                self._new.shut_for(self.every_new, now=now)
        if not self._names.is_shut(now):
            async with self.db.transaction() as session:
                await terms.refresh_names(session)
            self._names.shut_for(self.every_names, now=now)
        return done if done >= terms.EVENT_BATCH else 0
