"""The worker: inside the web process (SQLite, the one-command default) or as ``wabawatch worker``.

Both run the same passes (``app.processing.processor.Processor``); on PostgreSQL any number of
worker processes run side by side, claiming rows with SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

from app.alerts.tasks import alert_passes
from app.connections.sync import PeriodicSync
from app.db.engine import Database
from app.events.hooks import EventsCommittedHook
from app.jobs.runner import Pass, Worker
from app.live.publish import publisher
from app.processing.processor import Processor
from app.retention.tasks import PeriodicPurge
from app.settings import Settings
from app.staff.tasks import PeriodicIndex
from app.webhooks.listener import IntakeListener

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


def after_commit_hooks(db: Database) -> list[EventsCommittedHook]:
    """What runs with the ids of new events once they are committed, in every worker (web process
    or ``wabawatch worker``). Live updates and alerts attach here."""
    return [publisher(db)]


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
    # while the receiver waits to commit deliveries Meta is waiting on, so batches start small (they
    # grow while work waits: processor.BACKLOG_GROWTH); with 5 deliveries and 25 changes, intake at
    # 300 req/s beside the worker measured p99 22-28 ms in bench/ingest.py, against 50 ms at 25/50.
    processor = (
        Processor(db, hooks=commit_hooks, deliveries_per_batch=5, changes_per_batch=25)
        if db.is_sqlite
        else Processor(db, hooks=commit_hooks)
    )
    periodic: list[Pass] = []
    if settings is not None:
        # Connected WABAs are re-read from the Graph API about hourly; retention purges hourly, in
        # batches of short transactions.
        periodic.append(Pass("wabas.sync", PeriodicSync(db, settings, hooks=commit_hooks).run))
        periodic.append(Pass("retention.purge", PeriodicPurge(db, settings).run))
        # The staff search's folded names and the wamids and template names of new events.
        periodic.append(Pass("staff.index", PeriodicIndex(db).run))
    return Worker(
        [*processor.passes(), *periodic],
        wakeup=wakeup,
        poll_interval=poll_interval,
    )


def build_alert_worker(db: Database, settings: Settings, *, poll_interval: float = POLL_SECONDS) -> Worker:
    """Alerts run in a loop of their own beside processing, so a slow mail server or Slack never
    holds up webhook processing (and a burst of webhooks never holds up alerts)."""
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
