"""From stored deliveries to routed, deduplicated changes, typed events and current state.

Two passes of the worker, each over rows it claims (``app.jobs.claims``):

split (``app.processing.split``)
    A pending copy of a body kept already is folded into that row (``app.processing.dedup``). Any other
    pending delivery becomes one ``WebhookChange`` per ``entry[].changes[]``, inserted or ignored
    on (app_pk, dedup_key): a change Meta sends again, in any delivery, becomes nothing new. The
    change is routed to the org that registered (app, WABA), or kept as unrouted until one does.
process
    A routed change becomes events and state (``app.processing.store``). A batch is stored at once,
    in one savepoint and a few statements; if anything in it raises, the savepoint is rolled back
    and its changes run again one at a time, each in its own savepoint, so the one that raises
    keeps its error and a retry time (exponential backoff with jitter) and never blocks the other
    changes of its delivery or of the batch.

Nothing slow happens inside the transactions: the after-commit hooks (live updates, alerts) run
once the batch has committed, with the ids of the events it created.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.events import queries as events_queries
from app.events.hooks import EventsCommittedHook, events_committed
from app.events.models import Event
from app.events.parsed import ParsedEvent
from app.events.parsing import parse_change
from app.jobs import claims
from app.jobs.backoff import retry_delay
from app.jobs.runner import Pass
from app.lib.timeutil import utcnow
from app.processing import store
from app.processing.split import BodySplit, clip, split_deliveries, split_delivery
from app.processing.store import ChangeEvents
from app.wabas import queries as wabas_queries
from app.wabas import service as wabas_service
from app.wabas.models import Waba
from app.wabas.service import LoadedRows
from app.webhooks import queries as webhooks_queries
from app.webhooks.models import ChangeStatus, DeliveryStatus, WebhookChange, WebhookDelivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# How far past its own batch a PostgreSQL worker looks for WABAs no other worker holds.
LOOK_AHEAD_BATCHES = 4
ROUTE_SWEEP_SECONDS = 30.0


@dataclass
class ChangeResult:
    status: str
    created: list[int]
    updated: int = 0


async def process_changes(
    session: AsyncSession,
    changes: Sequence[WebhookChange],
    *,
    now: datetime,
    wabas: Mapping[tuple[int, str], Waba],
    existing_events: Mapping[int, Sequence[Event]],
    loaded: LoadedRows,
    parsed: Mapping[int, Sequence[ParsedEvent]] | None = None,
) -> list[ChangeResult]:
    """Stores the events and state of these changes, each routed to the WABA registered now for its
    app and WABA id (in ``wabas``, locked by the caller), or marks it unrouted when there is none: its
    events are made once the WABA is registered. One result per change, in order. ``parsed``: what
    the parser made of some of them already, by change id (a change never changes once split)."""
    results: list[ChangeResult] = []
    items: list[ChangeEvents] = []
    for change in changes:
        change.next_attempt_at = None
        change.last_error = None
        waba = routed_waba(change, wabas)
        if waba is None:
            change.org_id, change.status = None, ChangeStatus.UNROUTED
            results.append(ChangeResult(ChangeStatus.UNROUTED, []))
            continue
        change.org_id = waba.org_id
        events = (parsed or {}).get(change.id)
        if events is None:
            events = parse(change)
        change.status, change.processed_at = ChangeStatus.PROCESSED, now
        items.append(ChangeEvents(change, waba, events, existing_events.get(change.id, ())))
        results.append(ChangeResult(ChangeStatus.PROCESSED, []))
    stored = iter(await store.store_batch(session, items, loaded=loaded))
    for result in results:
        if result.status == ChangeStatus.PROCESSED:
            done = next(stored)
            result.created, result.updated = done.created, done.updated
    return results


def routed_waba(change: WebhookChange, wabas: Mapping[tuple[int, str], Waba]) -> Waba | None:
    """The WABA registered for the change's app and WABA id, among ``wabas``; None: unrouted."""
    return wabas.get((change.app_pk, change.waba_id)) if change.waba_id is not None else None


def parse(change: WebhookChange) -> list[ParsedEvent]:
    return parse_change(
        field=change.field,
        value=change.value,
        entry_id=change.entry_id,
        entry_time=change.entry_time,
        received_at=change.received_at,
    )


@dataclass
class _Claimed:
    """A claimed batch of changes and what processing them reads first."""

    changes: list[WebhookChange]
    wabas: dict[tuple[int, str], Waba]
    existing: dict[int, list[Event]]

    def items(self, parsed: Mapping[int, Sequence[ParsedEvent]]) -> list[ChangeEvents]:
        """The routed changes with their events, as ``store.store_batch`` will get them."""
        found = []
        for change in self.changes:
            waba = routed_waba(change, self.wabas)
            if waba is not None:
                found.append(ChangeEvents(change, waba, parsed[change.id], self.existing.get(change.id, ())))
        return found


def describe(exc: BaseException) -> str:
    """The error in words, without the SQL statement and parameters SQLAlchemy appends."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        exc = exc.orig
    return clip(f"{type(exc).__name__}: {exc}")


class BatchSize:
    """How many rows the next batch claims: sized by time, not by count.

    A batch that was not full means the worker has caught up: the next one starts from ``least``
    again. A full batch means work is waiting: the next one is as big as fits in ``budget`` seconds
    at the pace the last one went (at most ``most``, and at most twice the last), so a backlog is
    drained in few transactions while one transaction never holds SQLite's write turn much longer
    than ``budget`` (intake batches wait behind it, see ``app.db.writes``)."""

    def __init__(self, least: int, most: int, budget: float) -> None:
        self.least, self.most, self.budget = least, max(most, least), budget
        self.limit = least

    def after(self, claimed: int, seconds: float) -> None:
        if claimed < self.limit or claimed == 0:
            self.limit = self.least
            return
        fits = int(self.budget / max(seconds / claimed, 1e-6))
        self.limit = max(self.least, min(self.most, self.limit * 2, fits))


@dataclass
class BatchReport:
    claimed: int = 0
    processed: int = 0
    unrouted: int = 0
    failed: int = 0
    new_changes: int = 0
    events_created: int = 0
    events_updated: int = 0


class Processor:
    """The processing passes over one database. ``clock`` and ``rng`` exist for tests that need
    to be somewhere in time (a retry falling due) or to know the jitter."""

    def __init__(
        self,
        db: Database,
        *,
        hooks: Sequence[EventsCommittedHook] = (),
        max_attempts: int = MAX_ATTEMPTS,
        deliveries_per_batch: int = 10,
        changes_per_batch: int = 100,
        most_per_batch: int = 1000,
        batch_seconds: float = 0.2,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.hooks = list(hooks)
        self.max_attempts = max_attempts
        self.deliveries_per_batch = deliveries_per_batch
        self.changes_per_batch = changes_per_batch
        self._delivery_batch = BatchSize(deliveries_per_batch, most_per_batch // 5, batch_seconds)
        self._change_batch = BatchSize(changes_per_batch, most_per_batch, batch_seconds)
        self.clock = clock
        self.rng = rng
        self._last_sweep: datetime | None = None
        # What this processor has claimed so far (figures for logs and tests).
        self.deliveries_claimed = 0
        self.changes_claimed = 0

    def passes(self) -> list[Pass]:
        return [
            Pass("webhooks.split", self.split_pending),
            Pass("webhooks.process", self.process_pending),
            Pass("webhooks.route", self.sweep_unrouted),
        ]

    async def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Every pass until none finds work; the total done (tests, CLI commands)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.split_pending() + await self.process_pending()
            if done == 0:
                return total
            total += done
        return total

    async def split_pending(self) -> int:
        """Splits one batch of due deliveries; how many were claimed. On SQLite the batch is read and
        its bodies split before it takes the write turn, as ``process_pending`` does."""
        now = self.clock()
        if self.db.write_gate.enabled:
            return await self._split_read_first(now)
        started = time.monotonic()
        async with self.db.transaction() as session:
            claimed = await claims.claim(
                session,
                WebhookDelivery.id,
                WebhookDelivery.attempts,
                where=webhooks_queries.delivery_due(now),
                limit=self._delivery_batch.limit,
            )
            await self.split_claimed(session, claimed, now=now)
        self._delivery_batch.after(len(claimed), time.monotonic() - started)
        self.deliveries_claimed += len(claimed)
        return len(claimed)

    async def _split_read_first(self, now: datetime) -> int:
        """SQLite: the deliveries the next claim would take, their bodies split (JSON read) before
        the write turn; in it, the claim (of those still due), folding repeats, and the writes."""
        async with self.db.read() as session:
            deliveries = await webhooks_queries.due_deliveries(
                session, now=now, limit=self._delivery_batch.limit
            )
            if not deliveries:
                return 0
            done = {delivery.id: split_delivery(delivery) for delivery in deliveries}
            async with self.db.writes_of(session):
                started = time.monotonic()  # the turn's start: waiting for it is not the batch's pace
                due = [*webhooks_queries.delivery_due(now), WebhookDelivery.id.in_(list(done))]
                claimed = await claims.claim(
                    session,
                    WebhookDelivery.id,
                    WebhookDelivery.attempts,
                    where=due,
                    limit=len(done),
                    probe=False,
                )
                read = {delivery.id: delivery for delivery in deliveries}
                await self.split_claimed(session, claimed, now=now, read=read, done=done)
        self._delivery_batch.after(len(deliveries), time.monotonic() - started)
        self.deliveries_claimed += len(claimed)
        return len(claimed)

    async def split_claimed(
        self,
        session: AsyncSession,
        claimed: list[tuple[int, int]],
        *,
        now: datetime,
        read: Mapping[int, WebhookDelivery] | None = None,
        done: Mapping[int, BodySplit] | None = None,
    ) -> BatchReport:
        """``read``: the claimed deliveries, read before the claim (with ``done``, their bodies split)."""
        report = BatchReport(claimed=len(claimed))
        if not claimed:
            return report
        ids = [delivery_id for delivery_id, _ in claimed]
        try:
            # The whole batch at once; if anything in it fails, one delivery at a time, so that only
            # the failing one keeps its error.
            async with session.begin_nested():
                deliveries = read if read is not None else await self._deliveries(session, ids)
                report.new_changes = await split_deliveries(
                    session, [deliveries[i] for i in ids], now=now, done=done
                )
            report.processed = len(ids)
            return report
        except Exception as exc:
            log.info(
                "a batch of %d deliveries failed (%s); splitting them one at a time", len(ids), describe(exc)
            )
        deliveries = await self._deliveries(session, ids)
        for delivery_id, attempts in claimed:
            try:
                async with session.begin_nested():
                    report.new_changes += await split_deliveries(session, [deliveries[delivery_id]], now=now)
                report.processed += 1
            except Exception as exc:
                report.failed += 1
                await self._delivery_failed(session, delivery_id, attempts, exc, now=now)
        return report

    async def _deliveries(self, session: AsyncSession, ids: list[int]) -> dict[int, WebhookDelivery]:
        """Also after a savepoint rolled back: the rows read again replace what it expired."""
        found = await session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
        return {d.id: d for d in found}

    async def _delivery_failed(
        self, session: AsyncSession, delivery_id: int, attempts: int, exc: Exception, *, now: datetime
    ) -> None:
        final = attempts >= self.max_attempts
        log.warning("splitting delivery %d failed (attempt %d): %s", delivery_id, attempts, describe(exc))
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(
                status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
                last_error=describe(exc),
                next_attempt_at=None if final else now + retry_delay(attempts, rng=self.rng),
            )
            .execution_options(synchronize_session=False)
        )

    async def process_pending(self) -> int:
        """Processes one batch of due changes (new ones and failed ones whose retry is due).

        On PostgreSQL the batch is claimed first (SKIP LOCKED: workers never take the same changes)
        and read once claimed. On SQLite everything the batch needs is read and parsed before it
        takes the process's write turn (``_process_read_first``), so intake batches wait behind its
        writes only."""
        now = self.clock()
        if self.db.write_gate.enabled:
            return await self._process_read_first(now)
        started = time.monotonic()
        async with self.db.transaction() as session:
            claimed = await self._claim_by_waba(session, now)
            report, created = await self.process_claimed(session, claimed, now=now)
        self._change_batch.after(len(claimed), time.monotonic() - started)
        return await self._processed(report, created)

    async def _claim_by_waba(self, session: AsyncSession, now: datetime) -> list[tuple[int, int]]:
        """PostgreSQL: claims due changes of WABAs no other worker is processing.

        A batch holds the row locks of its WABAs to its commit (one WABA's numbers and state change
        in one transaction at a time). Claiming changes first and locking their WABAs after made a
        second worker wait for the first whenever their batches shared a WABA, which with a few busy
        WABAs was always: two workers drained hardly faster than one. So a worker first locks, without
        waiting, the WABAs of the oldest due changes that no one holds, as many as one batch needs
        (looking a few batches ahead, so that it finds some while another worker holds the oldest),
        then claims only their changes.
        One worker at a time processes a WABA's changes, account changes first, then message traffic
        (``webhooks_queries.LANES``), each in id order: a lane at a time until the batch is full."""
        claimed: list[tuple[int, int]] = []
        for lane in webhooks_queries.LANES:
            limit = self._change_batch.limit - len(claimed)
            if limit <= 0:
                break
            wanted = await webhooks_queries.wabas_of_due_changes(
                session, now=now, max_attempts=self.max_attempts, window=limit * LOOK_AHEAD_BATCHES, lane=lane
            )
            # A WABA this batch holds already is locked again at once (the lock is this transaction's).
            free = await wabas_queries.lock_free_wabas(session, wanted, enough=limit)
            mine = or_(
                WebhookChange.waba_id.is_(None), tuple_(WebhookChange.app_pk, WebhookChange.waba_id).in_(free)
            )
            claimed += await claims.claim(
                session,
                WebhookChange.id,
                WebhookChange.attempts,
                where=[*webhooks_queries.change_due(now, self.max_attempts, lane), mine],
                limit=limit,
            )
        return claimed

    async def _process_read_first(self, now: datetime) -> int:
        """SQLite: reads the changes the next claim would take, parses them and reads what storing
        them needs (their WABAs, the events a retry made before, the numbers and state entries they
        name, the alert rules of their orgs), then takes the write turn (``Database.writes_of``) for
        the claim and the writes.

        The claim takes only the changes read that are still due (one that another process's worker
        took meanwhile is left alone); a change never changes once split, so what the parser made of
        it still holds. The rest was read without the turn: should another writer add a number the
        batch then adds too, the batch fails on the unique index and its changes are processed again
        one at a time, each reading afresh inside the turn."""
        async with self.db.read() as session:
            changes = await webhooks_queries.due_changes(
                session, now=now, max_attempts=self.max_attempts, limit=self._change_batch.limit
            )
            if not changes:
                return 0
            parsed = {change.id: parse(change) for change in changes}
            batch = await self._read(session, changes, lock=False)
            loaded = LoadedRows()
            await store.prepare_batch(session, batch.items(parsed), loaded=loaded)
            async with self.db.writes_of(session):
                started = time.monotonic()  # the turn's start: waiting for it is not the batch's pace
                due = [
                    *webhooks_queries.change_due(now, self.max_attempts),
                    WebhookChange.id.in_(list(parsed)),
                ]
                claimed = await claims.claim(
                    session,
                    WebhookChange.id,
                    WebhookChange.attempts,
                    where=due,
                    limit=len(parsed),
                    probe=False,
                )
                report, created = await self.process_claimed(
                    session, claimed, now=now, parsed=parsed, read=(batch, loaded)
                )
        # Sized by the time the batch held the write turn (not the reading and parsing above, nor the
        # wait for the turn).
        self._change_batch.after(len(changes), time.monotonic() - started)
        return await self._processed(report, created)

    async def _processed(self, report: BatchReport, created: list[int]) -> int:
        self.changes_claimed += report.claimed
        await events_committed(self.hooks, created)
        return report.claimed

    async def process_claimed(
        self,
        session: AsyncSession,
        claimed: list[tuple[int, int]],
        *,
        now: datetime,
        parsed: Mapping[int, Sequence[ParsedEvent]] | None = None,
        read: tuple[_Claimed, LoadedRows] | None = None,
    ) -> tuple[BatchReport, list[int]]:
        """The whole batch in one savepoint: a few statements however many changes it holds. When
        anything in it fails, the savepoint is rolled back and the changes are processed again one
        at a time, each in its own savepoint, so that only the failing one keeps its error.

        ``read``: what was read for these changes before they were claimed (``_process_read_first``),
        of which only the claimed ones are processed."""
        report = BatchReport(claimed=len(claimed))
        created: list[int] = []
        if not claimed:
            return report, created
        attempts_of = dict(claimed)
        unreadable: list[int] = []  # the events that show changes failed for good
        if read is None:
            batch, loaded = await self._load(session, list(attempts_of)), LoadedRows()
        else:
            batch, loaded = read
            batch.changes = [change for change in batch.changes if change.id in attempts_of]
        try:
            async with session.begin_nested():
                results = await process_changes(
                    session,
                    batch.changes,
                    now=now,
                    wabas=batch.wabas,
                    existing_events=batch.existing,
                    loaded=loaded,
                    parsed=parsed,
                )
        except Exception as exc:
            loaded.rolled_back(session)
            log.info(
                "a batch of %d changes failed (%s); processing them one at a time",
                len(claimed),
                describe(exc),
            )
            results = await self._one_at_a_time(
                session, attempts_of, report, unreadable, now=now, parsed=parsed
            )
        created.extend(unreadable)
        for result in results:
            created.extend(result.created)
            report.events_created += len(result.created)
            report.events_updated += result.updated
            if result.status == ChangeStatus.UNROUTED:
                report.unrouted += 1
            else:
                report.processed += 1
        return report, created

    async def _load(self, session: AsyncSession, change_ids: list[int]) -> _Claimed:
        """Also after a savepoint rolled back: the rows read again replace what it expired."""
        return await self._read(
            session, await webhooks_queries.changes_by_ids(session, change_ids), lock=True
        )

    async def _read(self, session: AsyncSession, changes: list[WebhookChange], *, lock: bool) -> _Claimed:
        changes.sort(key=lambda c: (c.waba_id or "", c.id))
        # Routing by the WABAs registered now; with ``lock`` (PostgreSQL) their row locks are taken
        # here, all at once and in id order, and held to the commit: one WABA's numbers and state
        # change in one transaction at a time, and workers never wait for each other in a cycle.
        # (Outside any savepoint: PostgreSQL gives up row locks taken in a savepoint that rolls back.)
        keys = {(c.app_pk, c.waba_id) for c in changes if c.waba_id is not None}
        wabas = await wabas_queries.wabas_for_routing(session, keys, lock=lock)
        existing = await events_queries.events_of_changes(session, [c.id for c in changes])
        return _Claimed(changes, wabas, existing)

    async def _one_at_a_time(
        self,
        session: AsyncSession,
        attempts_of: dict[int, int],
        report: BatchReport,
        unreadable: list[int],
        *,
        now: datetime,
        parsed: Mapping[int, Sequence[ParsedEvent]] | None,
    ) -> list[ChangeResult]:
        loaded = LoadedRows(bulk=False)
        batch = await self._load(session, list(attempts_of))
        results: list[ChangeResult] = []
        for change in batch.changes:
            change_id = change.id
            try:
                async with session.begin_nested():
                    results += await process_changes(
                        session,
                        [change],
                        now=now,
                        wabas=batch.wabas,
                        existing_events=batch.existing,
                        loaded=loaded,
                        parsed=parsed,
                    )
            except Exception as exc:
                report.failed += 1
                shown = await self._change_failed(session, change_id, attempts_of[change_id], exc, now=now)
                if shown is not None:
                    unreadable.append(shown)
                # The rollback expired what the savepoint had changed: load it afresh.
                loaded.clear()
                batch.wabas = await wabas_queries.wabas_for_routing(session, set(batch.wabas), lock=True)
        return results

    async def _change_failed(
        self, session: AsyncSession, change_id: int, attempts: int, exc: Exception, *, now: datetime
    ) -> int | None:
        """Records the failure; after the last attempt, also the event that shows it (its id)."""
        final = attempts >= self.max_attempts
        log.warning(
            "processing change %d failed (attempt %d of %d): %s",
            change_id,
            attempts,
            self.max_attempts,
            describe(exc),
        )
        await session.execute(
            update(WebhookChange)
            .where(WebhookChange.id == change_id)
            .values(
                status=ChangeStatus.FAILED,
                last_error=describe(exc),
                next_attempt_at=None if final else now + retry_delay(attempts, rng=self.rng),
            )
            .execution_options(synchronize_session=False)
        )
        if not final:
            return None
        # Kept but never shown is lost to the people who look: the org's timeline says so. In a
        # savepoint of its own, so that if even this is refused the failure above still stands.
        try:
            async with session.begin_nested():
                return await store.store_unreadable(session, change_id=change_id, reason=describe(exc))
        except Exception:
            log.exception("the could-not-be-read event of change %d was not stored", change_id)
            return None

    async def sweep_unrouted(self) -> int:
        """Every ROUTE_SWEEP_SECONDS: routes unrouted changes whose WABA has been registered since."""
        now = self.clock()
        if self._last_sweep is not None and (now - self._last_sweep).total_seconds() < ROUTE_SWEEP_SECONDS:
            return 0
        self._last_sweep = now
        async with self.db.transaction() as session:
            return await wabas_service.route_registered(session)
