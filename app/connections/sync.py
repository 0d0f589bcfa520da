"""Syncing a WABA and its phone numbers from the Graph API, and noticing what the webhooks missed.

``fetch`` talks to Graph (no database); ``apply_snapshot`` writes what it read (flushes, never
commits). Where a polled value differs from what wabawatch last knew — the webhook state
(state_entries) when a webhook ever set it, else the value the previous sync read — one event
says so ("changed without a webhook") and, for keys the webhooks also set, the state follows it,
so the same difference is reported once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import outbox as alerts_outbox
from app.connections import graph_state
from app.connections import queries as graph_queries
from app.connections.models import WabaUsage
from app.connections.ownership import Ownership
from app.connections.ownership import check as check_ownership
from app.db.engine import Database
from app.events.hooks import EventsCommittedHook, events_committed
from app.events.models import Event
from app.events.parsed import Severity, StateUpdate
from app.graph.client import GraphClient
from app.graph.errors import GraphError
from app.graph.nodes import PhoneNumberInfo, SubscribedApp, WabaInfo
from app.graph.usage import BusinessStatus, UsageTracker
from app.jobs.periodic import Gate
from app.lib.timeutil import utcnow
from app.meta import queries as meta_queries
from app.settings import Settings
from app.wabas import queries as wabas_queries
from app.wabas import service as wabas_service
from app.wabas.models import PhoneNumber, Waba

log = logging.getLogger(__name__)

SYNC_FIELD = "graph_sync"
DRIFT_KIND = "changed_without_webhook"
# Meta names a rejected display name REJECTED in webhooks and DECLINED on the phone number node.
_SAME = {"REJECTED": "DECLINED"}


@dataclass(frozen=True)
class Snapshot:
    """What Graph said about one WABA at one moment."""

    waba: WabaInfo
    phones: list[PhoneNumberInfo]
    usage: BusinessStatus | None
    subscribed_apps: list[SubscribedApp] | None = None  # None: Graph would not say this time
    ownership: Ownership | None = None  # None: not checked (``ownership_error`` says why, if it failed)
    ownership_error: str | None = None


@dataclass
class SyncResult:
    phones: int = 0
    drift_event_ids: list[int] = field(default_factory=list)


async def fetch(
    graph: GraphClient, waba_id: str, token: str, *, app_id: str = "", app_secret: str = ""
) -> Snapshot:
    """The WABA, its numbers, its subscribed apps and, given our app's credentials, whether the
    WABA's business owns our app (app.connections.ownership). The apps are read here, by every connect,
    refresh and hourly sync, so that the connection page can show them without calling Graph.
    Only the WABA and its numbers are required: the other reads, when they fail, leave what was
    known in place (the ownership failure is said in words)."""
    info = await graph.get_waba(waba_id, token)
    phones = await graph.list_phone_numbers(waba_id, token)
    try:
        apps: list[SubscribedApp] | None = await graph.list_subscribed_apps(waba_id, token)
    except GraphError as exc:
        log.warning("listing the apps subscribed to WABA %s failed: %s", waba_id, type(exc).__name__)
        apps = None
    ownership, ownership_error = None, None
    if app_id:
        try:
            ownership = await check_ownership(graph, app_id=app_id, app_secret=app_secret, waba=info)
        except GraphError as exc:
            ownership_error = (
                f"Whether app {app_id} is owned by the WABA's business could not be checked: {exc}"
            )
    return Snapshot(
        waba=info,
        phones=phones,
        usage=graph.usage.latest(waba_id),
        subscribed_apps=apps,
        ownership=ownership,
        ownership_error=ownership_error,
    )


def _norm(value: str | None) -> str | None:
    return _SAME.get(value, value) if value else None


@dataclass(frozen=True)
class Check:
    """One polled value: where the webhooks keep it (``key``, None: they never say) and how."""

    label: str
    key: str | None
    read: Callable[[dict[str, Any]], str | None]  # state value -> comparable text
    build: Callable[[str], dict[str, Any]]  # polled text -> state value


def _get(name: str) -> Callable[[dict[str, Any]], str | None]:
    return lambda value: str(value[name]) if value.get(name) else None


def _no_state(value: str) -> dict[str, Any]:
    """Checks without a webhook key never build state."""
    return {}


WABA_CHECKS = {
    "account_review_status": Check("Account review", "review", _get("decision"), lambda v: {"decision": v}),
    "health_status": Check("Messaging health", None, _get(""), _no_state),
}
PHONE_CHECKS = {
    "name_status": Check(
        "Display name status",
        "name",
        _get("status"),
        lambda v: {"status": v, "requested_name": None, "reason": None},
    ),
    "messaging_limit_tier": Check(
        "Messaging limit", "messaging_limit", _get("tier"), lambda v: {"tier": v, "previous": None}
    ),
    "quality_rating": Check("Quality rating", None, _get(""), _no_state),
    "throughput_level": Check(
        "Throughput", "throughput", _get("level"), lambda v: {"level": v, "event": None}
    ),
}


async def apply_snapshot(
    session: AsyncSession, waba: Waba, snapshot: Snapshot, *, now: datetime | None = None
) -> SyncResult:
    now = now or utcnow()
    result = SyncResult()
    info = snapshot.waba
    polled = {"account_review_status": info.account_review_status, "health_status": info.can_send_message}
    for column, check in WABA_CHECKS.items():
        await _compare(session, result, waba, None, column, check, polled[column], now)
    if info.name:
        waba.name = info.name[:300]
    waba.business_verification_status = info.business_verification_status[:40] or None
    waba.graph_status = info.status[:40] or None
    waba.currency = info.currency[:8] or None
    waba.timezone_id = info.timezone_id[:16] or None
    waba.owner_business_id = info.owner_business_id[:64] or None
    waba.owner_business_name = info.owner_business_name[:300] or None
    waba.synced_at = now
    waba.sync_error = None
    if snapshot.ownership is not None:
        await graph_state.record_ownership(session, waba, snapshot.ownership, now=now)
    else:
        await graph_state.recheck_ownership(session, waba, now)
    for phone_info in snapshot.phones:
        await _apply_phone(session, result, waba, phone_info, now)
        result.phones += 1
    if snapshot.usage is not None:
        await save_usage(session, waba, snapshot.usage)
    if snapshot.subscribed_apps is not None:
        app = await meta_queries.app_by_pk(session, waba.app_pk)
        await graph_state.remember_subscription(
            session, waba, apps=snapshot.subscribed_apps, our_app_id=app.app_id
        )
    await session.flush()
    await alerts_outbox.enqueue_for_events(session, org_id=waba.org_id, event_ids=result.drift_event_ids)
    return result


async def _apply_phone(
    session: AsyncSession, result: SyncResult, waba: Waba, info: PhoneNumberInfo, now: datetime
) -> None:
    digits = re.sub(r"\D", "", info.display_phone_number)[:32] or None
    phone = await wabas_service.phone_for_event(
        session, waba, digits=digits, phone_number_id=info.id[:64] or None, display=info.display_phone_number
    )
    if phone is None:
        return
    if info.verified_name:
        phone.verified_name = info.verified_name[:300]
    if info.display_phone_number:
        phone.display_phone_number = info.display_phone_number[:64]
    polled = {
        "name_status": info.name_status,
        "messaging_limit_tier": info.messaging_limit_tier,
        "quality_rating": info.quality_rating,
        "throughput_level": info.throughput_level,
    }
    for column, check in PHONE_CHECKS.items():
        await _compare(session, result, waba, phone, column, check, polled[column], now)
    phone.code_verification_status = info.code_verification_status[:40] or None
    phone.graph_status = info.status[:40] or None
    phone.platform_type = info.platform_type[:40] or None
    phone.synced_at = now


async def _compare(
    session: AsyncSession,
    result: SyncResult,
    waba: Waba,
    phone: PhoneNumber | None,
    column: str,
    check: Check,
    polled: str,
    now: datetime,
) -> None:
    """Stores ``polled`` in ``column`` and records a drift event when it contradicts what was known."""
    owner: Waba | PhoneNumber = phone if phone is not None else waba
    previous: str | None = getattr(owner, column)
    setattr(owner, column, polled[:40] or None)
    if not polled:
        return
    known, source = previous, "the previous sync"
    if check.key is not None:
        subject = f"phone:{phone.id}" if phone is not None else "waba"
        entry = await wabas_queries.state_entry(session, waba_pk=waba.id, subject=subject, key=check.key)
        if entry is not None and check.read(dict(entry.value)):
            known, source = check.read(dict(entry.value)), "the webhooks"
    if known is None or _norm(known) == _norm(polled):
        return
    event = await record_drift(session, waba, phone, check.label, known, polled, source=source, now=now)
    result.drift_event_ids.append(event.id)
    if check.key is not None:
        await wabas_service.apply_state(
            session,
            waba=waba,
            phone=phone,
            update_=StateUpdate("phone" if phone is not None else "waba", check.key, check.build(polled)),
            occurred_at=now,
            event_id=event.id,
        )


async def record_drift(
    session: AsyncSession,
    waba: Waba,
    phone: PhoneNumber | None,
    label: str,
    known: str,
    polled: str,
    *,
    source: str,
    now: datetime,
) -> Event:
    """An event without a webhook change behind it: Graph says ``polled`` where ``source`` said ``known``."""
    where = f" of {phone.display_phone_number or phone.phone_number_id}" if phone is not None else ""
    event = Event(
        change_id=None,
        seq=0,
        app_pk=waba.app_pk,
        org_id=waba.org_id,
        waba_pk=waba.id,
        waba_id=waba.waba_id,
        phone=phone.digits if phone is not None else None,
        phone_number_id=phone.phone_number_id if phone is not None else None,
        field=SYNC_FIELD,
        kind=DRIFT_KIND,
        severity=int(Severity.WARNING),
        occurred_at=now,
        received_at=now,
        summary=f"{label}{where} changed without a webhook: {known} → {polled} (found by a Graph sync)",
        details={"what": label, "known": known, "known_from": source, "polled": polled, "source": "graph"},
    )
    session.add(event)
    await session.flush()
    return event


async def save_usage(session: AsyncSession, waba: Waba, status: BusinessStatus) -> WabaUsage:
    """Keeps the latest usage reading of the WABA, so that every process shows the same figure."""
    usage = await graph_queries.usage_of(session, org_id=waba.org_id, waba_pk=waba.id)
    if usage is None:
        usage = WabaUsage(org_id=waba.org_id, waba_pk=waba.id)
        session.add(usage)
    readings = status.readings
    usage.observed_at = status.observed_at
    usage.call_count = max((r.call_count for r in readings), default=0)
    usage.total_cputime = max((r.total_cputime for r in readings), default=0)
    usage.total_time = max((r.total_time for r in readings), default=0)
    usage.regain_minutes = status.regain_minutes
    usage.held_until = status.held_until
    await session.flush()
    return usage


def share_hold_back(graph: GraphClient, waba_id: str, usage: WabaUsage | None) -> None:
    """Holds calls back in this process while the stored usage says another one is holding them."""
    if usage is None or usage.held_until is None or usage.held_until <= utcnow():
        return
    known = graph.usage.latest(waba_id)
    if known is None or known.held_until is None or known.held_until < usage.held_until:
        graph.usage.throttled(waba_id, usage.held_until, app_id=graph.app_id)


class NotConnected(Exception):
    """The WABA has no stored token, or was disconnected: there is nothing to sync with."""


async def sync_waba(
    db: Database,
    graph: GraphClient,
    *,
    org_id: int,
    waba_pk: int,
    hooks: Sequence[EventsCommittedHook],
) -> SyncResult:
    """The whole refresh, as the page, the CLI and the worker run it: read the token, call Graph with
    no transaction open, then apply what it said in one transaction. A Graph failure is kept on the
    WABA (shown on its page) and raised."""
    async with db.read() as session:
        waba = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
        if waba is None or not waba.access_token or waba.disconnected_at is not None:
            raise NotConnected("This WABA is not connected: connect it with a token first.")
        waba_id, token = waba.waba_id, waba.access_token
        app = await meta_queries.app_by_pk(session, waba.app_pk)
        app_id, app_secret = app.app_id, app.app_secret
        share_hold_back(graph, waba_id, await graph_queries.usage_of(session, org_id=org_id, waba_pk=waba_pk))
    try:
        snapshot = await fetch(graph, waba_id, token, app_id=app_id, app_secret=app_secret)
    except GraphError as exc:
        async with db.transaction() as session:
            failed = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
            if failed is not None:
                failed.sync_error = str(exc)
                status = graph.usage.latest(waba_id)
                if status is not None:
                    await save_usage(session, failed, status)
        raise
    async with db.transaction() as session:
        current = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
        if current is None:
            raise NotConnected("This WABA was deleted while it was being synced.")
        result = await apply_snapshot(session, current, snapshot)
    # Like processed events, drift events reach open timelines once committed.
    await events_committed(hooks, result.drift_event_ids)
    return result


class PeriodicSync:
    """The worker's pass: syncs each connected WABA once per ``every`` (a few per pass, the least
    recently synced first). A WABA whose sync failed waits a whole ``every`` before its next try, so a
    broken token or a throttled business does not make the worker spin; the error is on its page."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        every: timedelta = timedelta(hours=1),
        batch: int = 5,
        check_every: timedelta = timedelta(minutes=1),
        usage: UsageTracker | None = None,
        hooks: Sequence[EventsCommittedHook],
    ) -> None:
        """``hooks`` run with the drift events a sync makes, as with processed events."""
        self.db = db
        self.settings = settings
        self.hooks = hooks
        self.every = every
        self.batch = batch
        self.usage = usage or UsageTracker()
        self.check_every = check_every
        self._failed_until: dict[int, datetime] = {}
        self._gate = Gate()

    async def due(self, now: datetime) -> list[tuple[int, int]]:
        async with self.db.read() as session:
            wabas = await wabas_queries.connected_wabas(session, synced_before=now - self.every)
        return [w for w in wabas if self._failed_until.get(w[1], now) <= now][: self.batch]

    async def run(self) -> int:
        """How many WABAs it synced (or tried to); the worker polls often, the database is asked
        at most once per ``check_every`` while nothing is due."""
        now = utcnow()
        if self._gate.is_shut(now):
            return 0
        due = await self.due(now)
        if not due:
            self._gate.shut_for(self.check_every, now=now)
            return 0
        async with GraphClient.from_settings(self.settings, usage=self.usage) as graph:
            for org_id, waba_pk in due:
                try:
                    await sync_waba(self.db, graph, org_id=org_id, waba_pk=waba_pk, hooks=self.hooks)
                except (GraphError, NotConnected) as exc:
                    log.warning("periodic sync of WABA pk %d failed: %s", waba_pk, type(exc).__name__)
                    self._failed_until[waba_pk] = now + self.every
                else:
                    self._failed_until.pop(waba_pk, None)
        return len(due)
