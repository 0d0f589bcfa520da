"""Reads of the intake's tables: deliveries, the changes split from them, rejection counters.

The delivery inspector's reads are by one app's primary key (or its app id, for rejection
counters); the routes decide who may see which app. Changes are tenant rows once routed: other
packages read them only through this module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, ColumnExpressionArgument, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.cutoffs import older_than_cutoff
from app.meta.models import MetaApp
from app.webhooks.counters import SIGNATURE_REASONS
from app.webhooks.models import (
    ACCOUNT_CHANGES_WAITING,
    CHANGE_PENDING,
    CHANGE_UNROUTED,
    CHANGE_WAITING,
    DELIVERY_PENDING,
    MESSAGE_CHANGES_WAITING,
    ChangeStatus,
    WebhookChange,
    WebhookDelivery,
    WebhookRejection,
)

RECENT = 50


@dataclass(frozen=True)
class FieldSeen:
    field: str
    count: int
    last_at: datetime


@dataclass(frozen=True)
class Checklist:
    last_handshake_at: datetime | None
    fields: list[FieldSeen]
    last_delivery_at: datetime | None
    valid_deliveries: int  # in the window, duplicates counted
    signature_failures: int  # in the window
    mtls_verified: int  # among the RECENT newest deliveries
    mtls_unverified: int
    mtls_unknown: int
    wabas_registered: int
    wabas_subscribed: int  # our app's subscription as last read or set through Graph
    wabas_subscription_unknown: int  # registered without a Graph connection, or never checked
    window_days: int

    @property
    def valid_share(self) -> float | None:
        total = self.valid_deliveries + self.signature_failures
        return None if total == 0 else self.valid_deliveries / total


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    received_at: datetime
    size: int
    duplicate_count: int
    status: str
    attempts: int
    last_error: str | None
    client_cert_verified: bool | None
    changes: int
    body_kept: bool


async def checklist(
    session: AsyncSession,
    app: MetaApp,
    *,
    subscriptions: dict[bool | None, int],
    now: datetime,
    window_days: int = 7,
) -> Checklist:
    """``subscriptions``: how many of the app's WABAs are subscribed (True), not (False), unknown (None)."""
    since = now - timedelta(days=window_days)
    rows = await session.execute(
        select(WebhookChange.field, func.count(), func.max(WebhookChange.received_at))
        .where(WebhookChange.app_pk == app.id)
        .group_by(WebhookChange.field)
        .order_by(WebhookChange.field)
    )
    fields = [FieldSeen(field, int(count), last) for field, count, last in rows]
    last_delivery = await session.scalar(
        select(func.max(WebhookDelivery.received_at)).where(WebhookDelivery.app_pk == app.id)
    )
    valid = await session.scalar(
        select(func.count() + func.coalesce(func.sum(WebhookDelivery.duplicate_count), 0)).where(
            WebhookDelivery.app_pk == app.id, WebhookDelivery.received_at >= since
        )
    )
    failures = await session.scalar(
        select(func.coalesce(func.sum(WebhookRejection.count), 0)).where(
            WebhookRejection.app_id == app.app_id,
            WebhookRejection.reason.in_(SIGNATURE_REASONS),
            WebhookRejection.hour >= since,
        )
    )
    recent = (
        select(WebhookDelivery.client_cert_verified)
        .where(WebhookDelivery.app_pk == app.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(RECENT)
        .subquery()
    )
    verdicts = {
        v: int(n) for v, n in await session.execute(select(recent.c[0], func.count()).group_by(recent.c[0]))
    }
    wabas = sum(subscriptions.values())
    return Checklist(
        last_handshake_at=app.last_verified_at,
        fields=fields,
        last_delivery_at=last_delivery,
        valid_deliveries=int(valid or 0),
        signature_failures=int(failures or 0),
        mtls_verified=verdicts.get(True, 0),
        mtls_unverified=verdicts.get(False, 0),
        mtls_unknown=verdicts.get(None, 0),
        wabas_registered=wabas,
        wabas_subscribed=subscriptions.get(True, 0),
        wabas_subscription_unknown=subscriptions.get(None, 0),
        window_days=window_days,
    )


async def recent_deliveries(
    session: AsyncSession, app: MetaApp, *, status: str | None = None
) -> list[DeliveryRow]:
    changes = (
        select(func.count())
        .where(WebhookChange.delivery_id == WebhookDelivery.id)
        .correlate(WebhookDelivery)
        .scalar_subquery()
    )
    stmt = select(
        WebhookDelivery.id,
        WebhookDelivery.received_at,
        WebhookDelivery.size,
        WebhookDelivery.duplicate_count,
        WebhookDelivery.status,
        WebhookDelivery.attempts,
        WebhookDelivery.last_error,
        WebhookDelivery.client_cert_verified,
        changes,
        WebhookDelivery.body.is_not(None),
    ).where(WebhookDelivery.app_pk == app.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows = await session.execute(stmt.order_by(WebhookDelivery.id.desc()).limit(RECENT))
    return [DeliveryRow(*row) for row in rows]


async def delivery_of_app(session: AsyncSession, app: MetaApp, delivery_id: int) -> WebhookDelivery | None:
    found: WebhookDelivery | None = await session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.app_pk == app.id, WebhookDelivery.id == delivery_id)
    )
    return found


async def unrouted_changes(session: AsyncSession, app: MetaApp) -> list[WebhookChange]:
    stmt = (
        select(WebhookChange)
        .where(WebhookChange.app_pk == app.id, text(CHANGE_UNROUTED))
        .order_by(WebhookChange.id.desc())
        .limit(RECENT)
    )
    return list(await session.scalars(stmt))


async def signature_failures_by_hour(
    session: AsyncSession, app: MetaApp, *, now: datetime, hours: int = 48
) -> list[tuple[datetime, str, int]]:
    rows = await session.execute(
        select(WebhookRejection.hour, WebhookRejection.reason, WebhookRejection.count)
        .where(
            WebhookRejection.app_id == app.app_id,
            WebhookRejection.reason.in_(SIGNATURE_REASONS),
            WebhookRejection.hour >= now - timedelta(hours=hours),
        )
        .order_by(WebhookRejection.hour.desc(), WebhookRejection.reason)
    )
    return [(hour, reason, int(count)) for hour, reason, count in rows]


async def change_and_delivery(
    session: AsyncSession, *, change_id: int | None
) -> tuple[WebhookChange, WebhookDelivery] | None:
    """The change an (already org-checked) event came from, and the delivery that carried it; None
    for an event no change made (``change_id`` None) or whose change is gone."""
    if change_id is None:
        return None
    row = (
        await session.execute(
            select(WebhookChange, WebhookDelivery)
            .join(WebhookDelivery, WebhookDelivery.id == WebhookChange.delivery_id)
            .where(WebhookChange.id == change_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


def delivery_due(now: datetime) -> list[ColumnExpressionArgument[bool]]:
    """A delivery the worker is to split now: pending, and its retry (if it failed before) due."""
    return [
        text(DELIVERY_PENDING),
        or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
    ]


async def due_deliveries(session: AsyncSession, *, now: datetime, limit: int) -> list[WebhookDelivery]:
    """The deliveries that a worker's next claim would take (oldest first), bodies included: read
    before the claim, to split them outside the write."""
    stmt = select(WebhookDelivery).where(*delivery_due(now)).order_by(WebhookDelivery.id).limit(limit)
    return list(await session.scalars(stmt))


# The worker's queues of changes, in the order it serves them: every waiting change about an account
# goes before any message traffic (``app.meta.fields``). Under a backlog of delivery receipts a
# quality downgrade, a ban or a review decision is processed, and its alert sent, within one batch.
# Taking changes out of arrival order leaves state as it was: only account changes set state, each
# entry only when newer (``app.wabas.service.apply_state``), and both queues keep their own order.
LANES = (ACCOUNT_CHANGES_WAITING, MESSAGE_CHANGES_WAITING)


def change_due(
    now: datetime, max_attempts: int, lane: str = CHANGE_WAITING
) -> list[ColumnExpressionArgument[bool]]:
    """A change the worker is to process now: new, or failed with attempts left and its retry due;
    with ``lane``, only those of that queue (one of ``LANES``)."""
    return [
        text(lane),
        WebhookChange.attempts < max_attempts,
        or_(WebhookChange.next_attempt_at.is_(None), WebhookChange.next_attempt_at <= now),
    ]


async def due_changes(
    session: AsyncSession, *, now: datetime, max_attempts: int, limit: int
) -> list[WebhookChange]:
    """The changes, of every org, that a worker's next claim would take (account changes first, then
    message traffic, each oldest first): read before the claim, to parse them outside the write."""
    found: list[WebhookChange] = []
    for lane in LANES:
        if len(found) >= limit:
            break
        stmt = (
            select(WebhookChange)
            .where(*change_due(now, max_attempts, lane))
            .order_by(WebhookChange.id)
            .limit(limit - len(found))
        )
        found.extend(await session.scalars(stmt))
    return found


async def wabas_of_due_changes(
    session: AsyncSession, *, now: datetime, max_attempts: int, window: int, lane: str
) -> list[tuple[tuple[int, str], int]]:
    """The WABAs (app_pk, WABA id) of the oldest ``window`` changes due in ``lane``, of every org,
    each with how many of those changes it has, the WABA of the oldest change first: the WABAs a
    worker looks to lock before it claims their changes."""
    oldest = (
        select(WebhookChange.id, WebhookChange.app_pk, WebhookChange.waba_id)
        .where(*change_due(now, max_attempts, lane), WebhookChange.waba_id.is_not(None))
        .order_by(WebhookChange.id)
        .limit(window)
        .subquery()
    )
    first = func.min(oldest.c.id)
    rows = await session.execute(
        select(oldest.c.app_pk, oldest.c.waba_id, func.count())
        .group_by(oldest.c.app_pk, oldest.c.waba_id)
        .order_by(first)
    )
    return [((int(app_pk), str(waba_id)), int(n)) for app_pk, waba_id, n in rows.all()]


async def changes_by_ids(session: AsyncSession, change_ids: list[int]) -> list[WebhookChange]:
    """Changes a worker has claimed (their ids come from its claim)."""
    return list(await session.scalars(select(WebhookChange).where(WebhookChange.id.in_(change_ids))))


async def oldest_pending_change_at(session: AsyncSession) -> datetime | None:
    """When the oldest change still waiting for the worker arrived, of any org (None: none waits)."""
    found: datetime | None = await session.scalar(
        select(func.min(WebhookChange.received_at)).where(text(CHANGE_PENDING))
    )
    return found


async def pending_change_count(session: AsyncSession) -> int:
    """How many changes, of every org, wait for the worker."""
    found = await session.scalar(select(func.count()).select_from(WebhookChange).where(text(CHANGE_PENDING)))
    return int(found or 0)


async def handled_change_ids_past_cutoff(
    session: AsyncSession, *, field: str, custom: dict[int, datetime], default: datetime, limit: int
) -> list[int]:
    """Ids of ``field`` changes, of every org, that no longer wait for the worker and arrived before
    their org's cutoff (``custom`` by org id, ``default`` for the others and unrouted changes): at
    most ``limit``, lowest id first."""
    stmt = (
        select(WebhookChange.id)
        .where(
            WebhookChange.field == field,
            WebhookChange.status != ChangeStatus.PENDING,
            older_than_cutoff(
                WebhookChange.org_id, WebhookChange.received_at, custom=custom, default=default
            ),
        )
        .order_by(WebhookChange.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


def delivery_has_pending_change() -> ColumnElement[bool]:
    """For a statement over deliveries: whether one of the delivery's changes still waits for the
    worker (a building block: the retention purge keeps such a delivery's body)."""
    return exists().where(
        WebhookChange.delivery_id == WebhookDelivery.id, WebhookChange.status == ChangeStatus.PENDING
    )


async def last_delivery_of_apps(session: AsyncSession, *, app_pks: Sequence[int]) -> dict[int, datetime]:
    """App primary key -> when its newest stored delivery arrived. Only for apps the asking org
    owns: another org's (or the platform's) traffic is not its business (see ``last_routed_to_org``)."""
    if not app_pks:
        return {}
    rows = await session.execute(
        select(WebhookDelivery.app_pk, func.max(WebhookDelivery.received_at))
        .where(WebhookDelivery.app_pk.in_(sorted(set(app_pks))))
        .group_by(WebhookDelivery.app_pk)
    )
    return {int(pk): at for pk, at in rows}


async def last_routed_to_org(
    session: AsyncSession, *, org_id: int, app_pks: Sequence[int]
) -> dict[int, datetime]:
    """App primary key -> when the newest change routed to the org arrived through it."""
    if not app_pks:
        return {}
    rows = await session.execute(
        select(WebhookChange.app_pk, func.max(WebhookChange.received_at))
        .where(WebhookChange.org_id == org_id, WebhookChange.app_pk.in_(sorted(set(app_pks))))
        .group_by(WebhookChange.app_pk)
    )
    return {int(pk): at for pk, at in rows}


@dataclass(frozen=True)
class UnroutedWaba:
    app_pk: int
    waba_id: str
    changes: int
    last_at: datetime


async def unrouted_wabas(
    session: AsyncSession, *, app_pks: Sequence[int], limit: int = 10
) -> list[UnroutedWaba]:
    """WABA ids that changes arrived for through these apps (the asking org's own) while no org had
    connected them, newest first: the WABAs to offer to connect."""
    if not app_pks:
        return []
    last = func.max(WebhookChange.received_at)
    rows = await session.execute(
        select(WebhookChange.app_pk, WebhookChange.waba_id, func.count(), last)
        .where(
            WebhookChange.app_pk.in_(sorted(set(app_pks))),
            text(CHANGE_UNROUTED),
            WebhookChange.waba_id.is_not(None),
        )
        .group_by(WebhookChange.app_pk, WebhookChange.waba_id)
        .order_by(last.desc())
        .limit(limit)
    )
    return [UnroutedWaba(int(pk), str(waba_id), int(n), at) for pk, waba_id, n, at in rows]
