"""The worker: inside the web process (SQLite, the one-command default) or as ``wabawatch worker``.

Both run the same passes (``app.processing.processor.Processor``); on PostgreSQL any number of
worker processes run side by side, claiming rows with SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

from app.db.engine import Database
from app.events.service import EventsCommittedHook
from app.jobs.queue import Handler, JobRunner
from app.jobs.runner import Pass, Worker
from app.processing.processor import Processor
from app.settings import Settings
from app.webhooks.listener import IntakeListener

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


def after_commit_hooks(db: Database) -> list[EventsCommittedHook]:
    """What runs with the ids of new events once they are committed, in every worker (web process
    or ``wabawatch worker``). Live updates and alerts attach here."""
    from app.live.publish import publisher

    return [publisher(db)]


def job_handlers() -> dict[str, Handler]:
    """Handlers of the jobs table by name ("<domain>.<verb>"); alerts and Graph calls register here."""
    return {}


def build_worker(
    db: Database,
    *,
    wakeup: asyncio.Event | None = None,
    hooks: Sequence[EventsCommittedHook] | None = None,
    poll_interval: float = POLL_SECONDS,
    settings: Settings | None = None,
    also_wake: Worker | None = None,
) -> Worker:
    """With ``settings``, the worker also runs the periodic passes that need them. ``also_wake``
    (the alert worker) is woken whenever new events commit."""
    commit_hooks = list(after_commit_hooks(db) if hooks is None else hooks)
    if also_wake is not None:
        commit_hooks.append(wake_on_events(also_wake))
    # SQLite has one write lock, which a processing transaction holds from its claim to its commit
    # while the receiver waits to commit deliveries Meta is waiting on: small batches keep that
    # wait short (they grow while work is waiting: see processing.BACKLOG_GROWTH). bench/ingest.py,
    # receiver at 300 req/s with the worker, when a change cost 7-20 statements: batches of 100
    # changes, p50/p99 50/221 ms; of 25, 31/159 ms; of 8, 14/158 ms but processing fell behind (intake
    # alone: 2/23 ms). Since batches are stored at once: 5/25, p50/p99 3-5/22-28 ms; 25/50, 5/50 ms.
    processor = (
        Processor(db, hooks=commit_hooks, deliveries_per_batch=5, changes_per_batch=25)
        if db.is_sqlite
        else Processor(db, hooks=commit_hooks)
    )
    jobs = JobRunner(db, job_handlers())
    alerts: list[Pass] = []
    if settings is not None:
        from app.connections.sync import PeriodicSync

        # Connected WABAs are re-read from the Graph API about hourly (issue 4).
        alerts.append(Pass("wabas.sync", PeriodicSync(db, settings).run))
        # Retention (issue 7): hourly, in batches of short transactions.
        from app.retention.tasks import PeriodicPurge

        alerts.append(Pass("retention.purge", PeriodicPurge(db, settings).run))
    return Worker(
        [*processor.passes(), *alerts, Pass("jobs.run", jobs.run_due)],
        wakeup=wakeup,
        poll_interval=poll_interval,
    )


def build_alert_worker(db: Database, settings: Settings, *, poll_interval: float = POLL_SECONDS) -> Worker:
    """Alerts run in a loop of their own beside processing, so a slow mail server or Slack never
    holds up webhook processing (and a burst of webhooks never holds up alerts)."""
    from app.alerts.tasks import alert_passes

    return Worker(alert_passes(db, settings), poll_interval=poll_interval)


def wake_on_events(worker: Worker) -> EventsCommittedHook:
    async def wake(event_ids: Sequence[int]) -> None:
        worker.wakeup.set()

    return wake


def runs_in_process(settings: Settings, db: Database) -> bool:
    return settings.worker_in_process if settings.worker_in_process is not None else db.is_sqlite


async def run_worker(db: Database, settings: Settings | None = None) -> None:
    """Runs until SIGTERM or SIGINT, then lets the running passes commit and returns."""
    alerts = build_alert_worker(db, settings) if settings is not None else None
    worker = build_worker(db, settings=settings, also_wake=alerts)
    workers = [w for w in (worker, alerts) if w is not None]

    def stop() -> None:
        for w in workers:
            w.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    listener = IntakeListener.for_database(db, worker.wakeup)
    if listener is not None:
        listener.start()
    log.info("worker started (%s)", db.engine.dialect.name)
    try:
        await asyncio.gather(*(w.run() for w in workers))
    finally:
        if listener is not None:
            await listener.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("worker stopped")


async def worker_command(settings: Settings) -> int:
    """``wabawatch worker``: the Procfile's worker process."""
    from app.cli.users import open_database
    from app.web.logs import configure_logging

    configure_logging(settings.log_format)  # JSON lines, like the web process's
    db = open_database(settings)
    try:
        await run_worker(db, settings)
    finally:
        await db.dispose()
    return 0
