"""The worker: inside the web process (SQLite, the one-command default) or as ``wabawatch worker``.

Both run the same passes (``app.processing.processor.Processor``); on PostgreSQL any number of
worker processes run side by side, claiming rows with SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from app.alerts.tasks import alert_passes
from app.connections.silence import SilenceWatch
from app.connections.sync import PeriodicSync
from app.db.engine import Database, make_engine
from app.db.writes import WriteGate
from app.events.hooks import EventsCommittedHook, events_committed
from app.jobs.runner import Pass, Worker
from app.live.publish import publisher
from app.processing.processor import Processor
from app.retention.tasks import PeriodicPurge
from app.settings import Settings
from app.staff.tasks import PeriodicIndex
from app.webhooks.listener import IntakeListener

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
# The longest a processing batch should hold SQLite's write turn: an intake batch waits for at most
# about this long behind it, within the ack p99 that bench/pipeline.py checks (50 ms).
SQLITE_BATCH_SECONDS = 0.025


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
    also_wake: Wakeable | None = None,
) -> Worker:
    """With ``settings``, the worker also runs the periodic passes that need them. ``also_wake``
    (the alert worker) is woken whenever new events commit."""
    commit_hooks = list(after_commit_hooks(db) if hooks is None else hooks)
    if also_wake is not None:
        commit_hooks.append(wake_on_events(also_wake))
    # SQLite has one write lock, which a processing transaction holds (its turn, app.db.writes)
    # from its claim to its commit while intake batches Meta is waiting on queue behind it: batches
    # grow with a backlog only as far as SQLITE_BATCH_SECONDS allows (processor.BatchSize).
    processor = (
        Processor(
            db,
            hooks=commit_hooks,
            deliveries_per_batch=5,
            changes_per_batch=25,
            batch_seconds=SQLITE_BATCH_SECONDS,
        )
        if db.is_sqlite
        else Processor(db, hooks=commit_hooks)
    )
    periodic: list[Pass] = []
    if settings is not None:
        # Connected WABAs are re-read from the Graph API about hourly; retention purges hourly, in
        # batches of short transactions; silent WABAs are looked for every minute.
        periodic.append(Pass("wabas.sync", PeriodicSync(db, settings, hooks=commit_hooks).run))
        periodic.append(Pass("wabas.silence", SilenceWatch(db, hooks=commit_hooks).run))
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


class _Settable(Protocol):
    def set(self) -> None: ...


class Wakeable(Protocol):
    """A worker whose ``wakeup`` can be set: a ``Worker`` on this loop, a ``ThreadWorker`` on another."""

    @property
    def wakeup(self) -> _Settable: ...


def wake_on_events(worker: Wakeable) -> EventsCommittedHook:
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


class _Wakeup:
    """Sets a worker's wake-up event from any thread (an ``asyncio.Event`` belongs to one loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        self._loop, self._event = loop, event

    def set(self) -> None:
        self._loop.call_soon_threadsafe(self._event.set)


class ThreadWorker:
    """A worker running on the in-process worker's thread, as the web app's loop sees it."""

    def __init__(self, worker: Worker, loop: asyncio.AbstractEventLoop) -> None:
        self.worker = worker
        self.wakeup = _Wakeup(loop, worker.wakeup)

    @property
    def poll_interval(self) -> float:
        return self.worker.poll_interval

    @poll_interval.setter
    def poll_interval(self, seconds: float) -> None:
        self.worker.poll_interval = seconds

    @property
    def stopping(self) -> bool:
        return self.worker.stopping


class _LoopThread:
    """One worker on a thread and event loop of its own, with database connections of its own whose
    SQLite statements run on that thread (``app.db.inline``)."""

    def __init__(
        self, name: str, settings: Settings, gate: WriteGate, build: Callable[[Database], Worker]
    ) -> None:
        self.name, self.settings, self.gate, self.build = name, settings, gate, build
        self.worker: ThreadWorker | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: Worker | None = None

    def start(self, timeout: float) -> ThreadWorker:
        self._thread = threading.Thread(target=asyncio.run, args=(self._run(),), name=self.name)
        self._thread.start()
        if not self._started.wait(timeout) or self.worker is None:
            raise RuntimeError(f"the {self.name} thread did not start")
        return self.worker

    async def _run(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        # This loop waits for nothing while a statement runs: SQLite is called on this thread.
        engine = make_engine(
            self.settings.database_url, sqlite_synchronous=self.settings.sqlite_synchronous, inline=True
        )
        db = Database(engine, write_gate=self.gate)
        try:
            self._worker = self.build(db)
            self.worker = ThreadWorker(self._worker, loop)
        finally:
            self._started.set()
        try:
            await self._worker.run()
        finally:
            await db.dispose()

    def stop(self) -> None:
        """Thread-safe: lets the running pass commit, then the loop ends."""
        if self._loop is not None and self._worker is not None:
            self._loop.call_soon_threadsafe(self._worker.stop)

    async def join(self, timeout: float) -> None:
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, timeout)
            if self._thread.is_alive():
                log.warning("the %s thread did not stop within %.0f s", self.name, timeout)


class InProcessWorkers:
    """The worker of the one-command default (SQLite), inside the web process: processing on a thread
    and event loop of its own, alerts on another.

    On the web app's loop, each of the worker's many database round trips waited for a turn of a loop
    busy answering webhooks, so a processing batch held SQLite's write turn several times longer than
    its work took, and intake waited behind it. On its own loop, its statements run on its own thread
    (``app.db.inline``) and never wait for a loop; but then nothing else on that loop runs while a
    batch does, so the alert sender, whose work is mostly waiting on SMTP and Slack, has a loop of its
    own too. All loops share the process's write gate (``app.db.writes``), so writes still take turns
    fairly. After-commit hooks (live updates) run on the web app's loop, where the streams are.
    """

    def __init__(self, settings: Settings, web_db: Database, *, hooks: Sequence[EventsCommittedHook]) -> None:
        self.settings = settings
        self.web_db = web_db
        self.hooks = list(hooks)
        self.worker: ThreadWorker | None = None
        self.alert_worker: ThreadWorker | None = None
        self._threads: list[_LoopThread] = []
        self._handed: set[concurrent.futures.Future[None]] = set()  # hooks running on the web loop

    def start(self, timeout: float = 30.0) -> None:
        web_loop = asyncio.get_running_loop()
        gate = self.web_db.write_gate
        alerts = _LoopThread("in-process-alerts", self.settings, gate, self._build_alerts)
        self._threads.append(alerts)
        self.alert_worker = alert_worker = alerts.start(timeout)

        def build_processing(db: Database) -> Worker:
            hooks = [self._web_hook(hook, web_loop) for hook in self.hooks]
            return build_worker(db, hooks=hooks, settings=self.settings, also_wake=alert_worker)

        processing = _LoopThread("in-process-worker", self.settings, gate, build_processing)
        self._threads.append(processing)
        self.worker = processing.start(timeout)

    def _build_alerts(self, db: Database) -> Worker:
        return build_alert_worker(db, self.settings)

    def _web_hook(
        self, hook: EventsCommittedHook, web_loop: asyncio.AbstractEventLoop
    ) -> EventsCommittedHook:
        """``hook`` run on the web app's loop. Handed over, not waited for: the next batch need not
        wait until a loop busy answering webhooks gets to it (a failure is logged there)."""

        async def run(event_ids: Sequence[int]) -> None:
            await events_committed([hook], event_ids)

        async def on_web_loop(event_ids: Sequence[int]) -> None:
            handed = asyncio.run_coroutine_threadsafe(run(event_ids), web_loop)
            self._handed.add(handed)  # held until done: the web loop keeps only weak references
            handed.add_done_callback(self._handed.discard)

        return on_web_loop

    def wake(self) -> None:
        """New deliveries are committed (thread-safe)."""
        if self.worker is not None:
            self.worker.wakeup.set()

    async def close(self, timeout: float = 30.0) -> None:
        """Lets the running passes commit, then ends the threads: processing first (its last batch
        may still wake the alert loop), then alerts."""
        for thread in reversed(self._threads):
            thread.stop()
            await thread.join(timeout)
