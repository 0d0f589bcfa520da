"""From stored deliveries to routed, deduplicated changes, typed events and current state.

Two passes of the worker, each over rows it claims (``app.jobs.claims``):

split
    A pending delivery becomes one ``WebhookChange`` per ``entry[].changes[]``, inserted or ignored
    on (app_pk, dedup_key): a change Meta sends again, in any delivery, becomes nothing new. The
    change is routed to the org that registered (app, WABA), or kept as unrouted until one does.
process
    A routed change becomes events and state (``app.events.service``). Each change runs in its own
    savepoint, so one that raises keeps its error and a retry time (exponential backoff with jitter)
    and never blocks the other changes of its delivery or of the batch.

Nothing slow happens inside the transactions: the after-commit hooks (live updates, alerts) run
once the batch has committed, with the ids of the events it created.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.events import queries as events_queries
from app.events import service as events_service
from app.events.models import Event
from app.events.parsing import change_dedup_key, parse_change, routing_waba_id
from app.events.service import EventsCommittedHook
from app.jobs import claims
from app.jobs.backoff import retry_delay
from app.jobs.runner import Pass
from app.lib.timeutil import utcnow
from app.wabas import queries as wabas_queries
from app.wabas import service as wabas_service
from app.wabas.models import Waba
from app.wabas.service import LoadedRows
from app.webhooks.models import ChangeStatus, DeliveryStatus, WebhookChange, WebhookDelivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
ROUTE_SWEEP_SECONDS = 30.0
_MAX_ERROR = 2000


class NotSplittable(ValueError):
    """The body is not a Meta notification at all (not JSON, not an object, no entry list)."""


@dataclass(frozen=True)
class SplitChange:
    entry_index: int
    change_index: int
    field: str
    entry_id: str
    entry_time: datetime | None
    waba_id: str | None
    dedup_key: str
    value: dict[str, Any]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    """JSON numbers beyond a double (1e999) would be stored as Infinity, which is not JSON either."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:20]} is out of range")
    return number


def _id_text(raw: Any) -> str | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def _unix_time(raw: Any) -> datetime | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        return datetime.fromtimestamp(raw, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def split_body(body: bytes) -> tuple[list[SplitChange], list[str]]:
    """The changes of a delivery body, and what was wrong with the parts that could not be split.

    Raises NotSplittable when nothing can be: not JSON, not an object, no entry list.
    """
    try:
        data = json.loads(body, parse_constant=_no_constants, parse_float=_finite)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotSplittable(f"body is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise NotSplittable(f"body is a JSON {type(data).__name__}, not an object")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise NotSplittable('body has no "entry" list')
    found: list[SplitChange] = []
    problems: list[str] = []
    for i, entry in enumerate(entries):
        where = f"entry[{i}]"
        entry_id = _id_text(entry.get("id")) if isinstance(entry, dict) else None
        raw_changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(entry, dict):
            problems.append(f"{where} is not an object")
        elif entry_id is None or len(entry_id) > 64:
            problems.append(f"{where} has no usable id")
        elif not isinstance(raw_changes, list):
            problems.append(f'{where} has no "changes" list')
        else:
            entry_time = _unix_time(entry.get("time"))
            for j, change in enumerate(raw_changes):
                item = _split_change(change, i, j, entry_id, entry_time)
                if isinstance(item, str):
                    problems.append(f"{where}.changes[{j}] {item}")
                else:
                    found.append(item)
    return found, problems


def _split_change(
    change: Any, entry_index: int, change_index: int, entry_id: str, entry_time: datetime | None
) -> SplitChange | str:
    """The change, or what is wrong with it."""
    if not isinstance(change, dict):
        return "is not an object"
    field, value = change.get("field"), change.get("value")
    if not isinstance(field, str) or not field.strip() or len(field) > 100:
        return "has no usable field name"
    if not isinstance(value, dict):
        return "has no value object"
    waba_id = routing_waba_id(field, value, entry_id)
    if waba_id is not None and len(waba_id) > 64:
        return "names a WABA id longer than 64 characters"
    return SplitChange(
        entry_index=entry_index,
        change_index=change_index,
        field=field,
        entry_id=entry_id,
        entry_time=entry_time,
        waba_id=waba_id,
        dedup_key=change_dedup_key(field=field, entry_id=entry_id, entry_time=entry_time, value=value),
        value=value,
    )


async def _insert_changes(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT (app_pk, dedup_key) DO NOTHING; how many rows were new.

    Rows go in dedup_key order, so two workers inserting overlapping changes lock them in the same
    order and wait for each other instead of deadlocking.
    """
    if not rows:
        return 0
    dialect = postgresql if claims.dialect_name(session) == "postgresql" else sqlite
    table = WebhookChange.__table__
    stmt = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["app_pk", "dedup_key"])
        .returning(table.c.id)
    )
    result = await session.execute(stmt, sorted(rows, key=lambda row: str(row["dedup_key"])))
    return len(result.all())


async def split_delivery(session: AsyncSession, delivery: WebhookDelivery, *, now: datetime) -> int:
    """Splits one delivery into changes and marks it processed (or failed, saying why); returns
    how many changes were new."""
    delivery.processed_at = now
    delivery.next_attempt_at = None
    if delivery.body is None:
        delivery.status, delivery.last_error = DeliveryStatus.FAILED, "body was purged before it was split"
        return 0
    try:
        items, problems = split_body(delivery.body)
    except NotSplittable as exc:
        delivery.status, delivery.last_error = DeliveryStatus.FAILED, str(exc)
        return 0
    routes = await wabas_queries.routes_for(
        session, app_pk=delivery.app_pk, waba_ids=[i.waba_id for i in items if i.waba_id]
    )
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        org_id = routes.get(item.waba_id) if item.waba_id else None
        rows.setdefault(
            item.dedup_key,
            {
                "delivery_id": delivery.id,
                "app_pk": delivery.app_pk,
                "entry_index": item.entry_index,
                "change_index": item.change_index,
                "field": item.field,
                "entry_id": item.entry_id,
                "entry_time": item.entry_time,
                "waba_id": item.waba_id,
                "org_id": org_id,
                "dedup_key": item.dedup_key,
                "value": item.value,
                "received_at": delivery.received_at,
                "status": ChangeStatus.PENDING if org_id is not None else ChangeStatus.UNROUTED,
                "attempts": 0,
            },
        )
    new = await _insert_changes(session, list(rows.values()))
    if problems:
        delivery.status = DeliveryStatus.FAILED
        total = len(items) + len(problems)
        delivery.last_error = _clip(
            f"{len(problems)} of {total} parts could not be split: " + "; ".join(problems)
        )
    else:
        delivery.status, delivery.last_error = DeliveryStatus.PROCESSED, None
    return new


@dataclass
class ChangeResult:
    status: str
    created: list[int]
    updated: int = 0


async def process_change(
    session: AsyncSession,
    change: WebhookChange,
    *,
    now: datetime,
    waba: Waba | None,
    existing_events: Sequence[Event],
    loaded: LoadedRows | None = None,
) -> ChangeResult:
    """Stores the events and state of one change, routed to ``waba`` (the WABA registered now for
    its app and WABA id, locked by the caller), or marks it unrouted when there is none: its events
    are made once the WABA is registered."""
    change.next_attempt_at = None
    change.last_error = None
    if waba is None:
        change.org_id, change.status = None, ChangeStatus.UNROUTED
        return ChangeResult(ChangeStatus.UNROUTED, [])
    change.org_id = waba.org_id
    parsed = parse_change(
        field=change.field,
        value=change.value,
        entry_id=change.entry_id,
        entry_time=change.entry_time,
        received_at=change.received_at,
    )
    stored = await events_service.store_change_events(
        session, change=change, waba=waba, parsed=parsed, existing_events=existing_events, loaded=loaded
    )
    change.status, change.processed_at = ChangeStatus.PROCESSED, now
    await session.flush()
    return ChangeResult(ChangeStatus.PROCESSED, stored.created, stored.updated)


def describe(exc: BaseException) -> str:
    """The error in words, without the SQL statement and parameters SQLAlchemy appends."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        exc = exc.orig
    return _clip(f"{type(exc).__name__}: {exc}")


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


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
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.hooks = list(hooks)
        self.max_attempts = max_attempts
        self.deliveries_per_batch = deliveries_per_batch
        self.changes_per_batch = changes_per_batch
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
        """Splits one batch of due deliveries; how many were claimed."""
        now = self.clock()
        async with self.db.transaction() as session:
            claimed = await claims.claim(
                session,
                WebhookDelivery.id,
                WebhookDelivery.attempts,
                where=[
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
                ],
                limit=self.deliveries_per_batch,
            )
            await self.split_claimed(session, claimed, now=now)
        self.deliveries_claimed += len(claimed)
        return len(claimed)

    async def split_claimed(
        self, session: AsyncSession, claimed: list[tuple[int, int]], *, now: datetime
    ) -> BatchReport:
        report = BatchReport(claimed=len(claimed))
        if not claimed:
            return report
        ids = [delivery_id for delivery_id, _ in claimed]
        deliveries = {
            d.id: d for d in await session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
        }
        for delivery_id, attempts in claimed:
            try:
                async with session.begin_nested():
                    report.new_changes += await split_delivery(session, deliveries[delivery_id], now=now)
                report.processed += 1
            except Exception as exc:
                report.failed += 1
                await self._delivery_failed(session, delivery_id, attempts, exc, now=now)
        return report

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
        """Processes one batch of due changes (new ones and failed ones whose retry is due)."""
        now = self.clock()
        async with self.db.transaction() as session:
            claimed = await claims.claim(
                session,
                WebhookChange.id,
                WebhookChange.attempts,
                where=[
                    WebhookChange.status.in_([ChangeStatus.PENDING, ChangeStatus.FAILED]),
                    WebhookChange.attempts < self.max_attempts,
                    or_(WebhookChange.next_attempt_at.is_(None), WebhookChange.next_attempt_at <= now),
                ],
                limit=self.changes_per_batch,
            )
            report, created = await self.process_claimed(session, claimed, now=now)
        self.changes_claimed += report.claimed
        await events_service.events_committed(self.hooks, created)
        return report.claimed

    async def process_claimed(
        self, session: AsyncSession, claimed: list[tuple[int, int]], *, now: datetime
    ) -> tuple[BatchReport, list[int]]:
        report = BatchReport(claimed=len(claimed))
        created: list[int] = []
        if not claimed:
            return report, created
        attempts_of = dict(claimed)
        changes = list(
            await session.scalars(select(WebhookChange).where(WebhookChange.id.in_(list(attempts_of))))
        )
        changes.sort(key=lambda c: (c.waba_id or "", c.id))
        # Routing by the WABAs registered now; their row locks (PostgreSQL) are taken here, all at
        # once and in id order, and held to the commit: one WABA's numbers and state change in one
        # transaction at a time, and workers never wait for each other in a cycle.
        keys = {(c.app_pk, c.waba_id) for c in changes if c.waba_id is not None}
        wabas = await wabas_queries.wabas_for_routing(session, keys, lock=True)
        existing = await events_queries.events_of_changes(session, list(attempts_of))
        loaded = LoadedRows()
        for change in changes:
            change_id = change.id
            waba = wabas.get((change.app_pk, change.waba_id)) if change.waba_id is not None else None
            try:
                async with session.begin_nested():
                    result = await process_change(
                        session,
                        change,
                        now=now,
                        waba=waba,
                        existing_events=existing[change_id],
                        loaded=loaded,
                    )
            except Exception as exc:
                report.failed += 1
                await self._change_failed(session, change_id, attempts_of[change_id], exc, now=now)
                # The rollback expired what the savepoint had changed: load it afresh.
                loaded.clear()
                wabas = await wabas_queries.wabas_for_routing(session, keys, lock=True)
                continue
            created.extend(result.created)
            report.events_created += len(result.created)
            report.events_updated += result.updated
            if result.status == ChangeStatus.UNROUTED:
                report.unrouted += 1
            else:
                report.processed += 1
        return report, created

    async def _change_failed(
        self, session: AsyncSession, change_id: int, attempts: int, exc: Exception, *, now: datetime
    ) -> None:
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

    async def sweep_unrouted(self) -> int:
        """Every ROUTE_SWEEP_SECONDS: routes unrouted changes whose WABA has been registered since."""
        now = self.clock()
        if self._last_sweep is not None and (now - self._last_sweep).total_seconds() < ROUTE_SWEEP_SECONDS:
            return 0
        self._last_sweep = now
        async with self.db.transaction() as session:
            return await wabas_service.route_registered(session)
