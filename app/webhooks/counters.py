"""Counters of refused deliveries, aggregated in memory and written about once a second.

A flood of badly signed requests must not become a flood of writes: each refusal is a dict update;
the flusher upserts ``webhook_rejections`` (app id, reason, hour) and bumps the app's
``signature_failures``. Log lines are rate-limited per app and reason for the same reason.
Nothing about the request itself (body, signature, secret) is kept or logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.webhooks.models import WebhookRejection

log = logging.getLogger("app.webhooks.receiver")

MISSING_SIGNATURE = "missing_signature"
BAD_SIGNATURE = "bad_signature"
TOO_LARGE = "too_large"
SIGNATURE_REASONS = frozenset({MISSING_SIGNATURE, BAD_SIGNATURE})
LOG_LINES_PER_INTERVAL = 5


class RejectionCounter:
    def __init__(self, db: Database, *, interval: float = 1.0) -> None:
        self._db = db
        self._interval = interval
        self._counts: defaultdict[tuple[str, str, datetime], int] = defaultdict(int)
        self._signature_failures: dict[int, tuple[int, datetime]] = {}
        self._logged: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def add(self, *, app_id: str, app_pk: int, reason: str, client: str) -> None:
        now = utcnow()
        hour = now.replace(minute=0, second=0, microsecond=0)
        self._counts[(app_id, reason, hour)] += 1
        if reason in SIGNATURE_REASONS:
            count, _ = self._signature_failures.get(app_pk, (0, now))
            self._signature_failures[app_pk] = (count + 1, now)
        seen = self._logged[(app_id, reason)] = self._logged[(app_id, reason)] + 1
        if seen <= LOG_LINES_PER_INTERVAL:
            log.warning("webhook for app %s refused: %s (from %s)", app_id, reason, client)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-rejection-counter")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception as exc:
                log.error(
                    "webhook rejection counters not written (%s); kept for the next try", type(exc).__name__
                )

    async def flush(self) -> None:
        """Writes what was counted since the last flush; on failure keeps it for the next one."""
        async with self._lock:
            counts, self._counts = self._counts, defaultdict(int)
            failures, self._signature_failures = self._signature_failures, {}
            for (app_id, reason), seen in self._logged.items():
                if seen > LOG_LINES_PER_INTERVAL:
                    log.warning(
                        "webhook for app %s refused: %s, %d more times",
                        app_id,
                        reason,
                        seen - LOG_LINES_PER_INTERVAL,
                    )
            self._logged.clear()
            if not counts and not failures:
                return
            try:
                await self._write(counts, failures)
            except Exception:
                for key, n in counts.items():
                    self._counts[key] += n
                for pk, (n, at) in failures.items():
                    count, last = self._signature_failures.get(pk, (0, at))
                    self._signature_failures[pk] = (count + n, max(at, last))
                raise

    async def _write(
        self, counts: dict[tuple[str, str, datetime], int], failures: dict[int, tuple[int, datetime]]
    ) -> None:
        insert = postgresql.insert if self._db.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(WebhookRejection)
        stmt = stmt.on_conflict_do_update(
            index_elements=["app_id", "reason", "hour"],
            set_={"count": WebhookRejection.count + stmt.excluded.count},
        )
        rows = [
            {"app_id": app_id, "reason": reason, "hour": hour, "count": n}
            for (app_id, reason, hour), n in sorted(counts.items())
        ]
        async with self._db.engine.begin() as conn:
            if rows:
                await conn.execute(stmt, rows)
            for pk, (n, at) in sorted(failures.items()):
                await conn.execute(
                    update(MetaApp)
                    .where(MetaApp.id == pk)
                    .values(signature_failures=MetaApp.signature_failures + n, last_signature_failure_at=at)
                )
