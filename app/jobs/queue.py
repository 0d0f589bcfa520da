"""The ``jobs`` table as a queue, for work that must survive a restart and may be slow (sending an
alert, calling the Graph API).

``enqueue`` writes the job in the caller's transaction, so it exists exactly when what caused it
was committed. ``JobRunner.run_due`` (a worker pass) claims due jobs with a lease and commits the
claim, then runs each handler outside any transaction, so a slow handler holds no locks. A job whose
worker died is claimed again when its lease ends; handlers therefore take ids, re-read what they need
and are idempotent. A failure is retried with exponential backoff and jitter; ``PermanentError`` or
the last attempt leaves it ``failed`` with its error, visible.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.jobs import claims
from app.jobs.backoff import retry_delay
from app.jobs.models import Job
from app.lib.timeutil import utcnow

log = logging.getLogger(__name__)

Handler = Callable[[Database, dict[str, Any]], Awaitable[None]]


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # permanently: a PermanentError, no handler, or the last attempt failed


class PermanentError(Exception):
    """Raised by a handler when trying again cannot help (a 4xx from a webhook URL, a bad address)."""


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> Job:
    """Adds a job named "<domain>.<verb>" in the caller's transaction (flushed, not committed)."""
    job = Job(
        name=name,
        payload=payload,
        status=JobStatus.QUEUED,
        run_at=run_at or utcnow(),
        attempts=0,
        max_attempts=max_attempts,
    )
    session.add(job)
    await session.flush()
    return job


class JobRunner:
    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        batch: int = 10,
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.handlers = dict(handlers)
        self.batch = batch
        self.lease = lease
        self.clock = clock
        self.rng = rng

    async def run_due(self) -> int:
        """Claims and runs up to ``batch`` due jobs; how many it ran."""
        now = self.clock()
        async with self.db.transaction() as session:
            claimed = await claims.claim(
                session,
                Job.id,
                Job.attempts,
                where=[
                    or_(
                        and_(Job.status == JobStatus.QUEUED, Job.run_at <= now),
                        and_(Job.status == JobStatus.RUNNING, Job.locked_until < now),
                    )
                ],
                limit=self.batch,
                values={"status": JobStatus.RUNNING, "locked_until": now + self.lease},
            )
            rows = {}
            if claimed:
                found = await session.execute(
                    select(Job.id, Job.name, Job.payload, Job.max_attempts).where(
                        Job.id.in_([job_id for job_id, _ in claimed])
                    )
                )
                rows = {row[0]: (row[1], row[2], row[3]) for row in found.all()}
        for job_id, attempts in claimed:
            name, payload, max_attempts = rows[job_id]
            await self._run(job_id, name, dict(payload), attempts=attempts, max_attempts=max_attempts)
        return len(claimed)

    async def _run(
        self, job_id: int, name: str, payload: dict[str, Any], *, attempts: int, max_attempts: int
    ) -> None:
        handler = self.handlers.get(name)
        error: str | None = None
        permanent = False
        if handler is None:
            error, permanent = f"no handler for job {name!r}", True
        else:
            try:
                await handler(self.db, payload)
            except PermanentError as exc:
                error, permanent = f"{type(exc).__name__}: {exc}", True
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        now = self.clock()
        if error is None:
            values: dict[str, Any] = {
                "status": JobStatus.DONE,
                "finished_at": now,
                "locked_until": None,
                "last_error": None,
            }
        elif permanent or attempts >= max_attempts:
            log.warning("job %d (%s) failed for good after %d attempts: %s", job_id, name, attempts, error)
            values = {
                "status": JobStatus.FAILED,
                "finished_at": now,
                "locked_until": None,
                "last_error": error,
            }
        else:
            log.info("job %d (%s) failed (attempt %d), retried later: %s", job_id, name, attempts, error)
            values = {
                "status": JobStatus.QUEUED,
                "run_at": now + retry_delay(attempts, rng=self.rng),
                "locked_until": None,
                "last_error": error[:2000],
            }
        async with self.db.transaction() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
