"""The worker's alert passes: send due outbox rows, and gather daily digests.

A pass claims due rows with a lease and **commits the claim before sending** (status ``sending``,
the attempt counted, the time written): the record of an attempt exists before the message leaves.
Sending happens outside any transaction; the outcome is recorded in a second one. A worker that dies
between sending and recording leaves the row ``sending``; when the lease ends another pass claims it
and sends again. Delivery is therefore **at least once**: after a crash at the wrong moment the same
mail or Slack message may arrive twice, but a committed alert is never lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import outbox, queries
from app.alerts.messages import AlertMessage, message_for
from app.alerts.models import AlertChannel, AlertDelivery, ChannelKind, DeliveryKind, DeliveryStatus
from app.alerts.transports import ChannelGone, DeliveryError, PermanentFailure, Registry, Target
from app.db.engine import Database
from app.jobs import claims
from app.jobs.backoff import retry_delay
from app.jobs.runner import Pass
from app.lib.timeutil import utcnow
from app.tenancy import queries as tenancy_queries
from app.tenancy.models import Organization, Role

log = logging.getLogger(__name__)

ADMIN_ROLES = (Role.OWNER, Role.ADMIN)
DIGEST_EVERY = timedelta(hours=24)
DIGEST_ITEMS = 50
DIGEST_CHECK_EVERY = timedelta(seconds=60)


@dataclass
class Claimed:
    id: int
    attempts: int
    max_attempts: int
    org_id: int
    org_slug: str
    channel_id: int | None
    created_at: datetime
    message: AlertMessage
    target: Target | None
    problem: str | None = None  # why it cannot be sent at all (channel disabled, no recipients)


@dataclass
class Outcome:
    claimed: Claimed
    error: DeliveryError | None


class AlertSender:
    def __init__(
        self,
        db: Database,
        registry: Registry,
        *,
        batch: int = 50,
        concurrency: int = 16,
        lease: timedelta = timedelta(minutes=2),
        backoff_base: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.batch = batch
        self.concurrency = concurrency
        self.lease = lease
        self.backoff_base = backoff_base
        self.clock = clock
        self.rng = rng
        self._last_digest_check: datetime | None = None

    def passes(self) -> list[Pass]:
        return [Pass("alerts.send", self.run_due), Pass("alerts.digest", self.make_digests)]

    async def run_due(self) -> int:
        """Claims, sends and records one batch; how many rows it claimed."""
        claimed = await self.claim()
        if not claimed:
            return 0
        outcomes = await self.send(claimed)
        await self.record(outcomes)
        return len(claimed)

    async def claim(self) -> list[Claimed]:
        """Claims a batch (leased until ``lease`` from now) and reads what sending it needs. Only the
        claim holds SQLite's write turn: whether anything is due is read before it (the sender is
        woken after every processing batch, mostly to find nothing), what is claimed after it."""
        now = self.clock()
        due = [
            or_(
                and_(AlertDelivery.status == DeliveryStatus.QUEUED, AlertDelivery.run_at <= now),
                and_(AlertDelivery.status == DeliveryStatus.SENDING, AlertDelivery.locked_until < now),
            )
        ]
        async with self.db.read() as session:
            if not await claims.any_due(session, AlertDelivery.id, where=due):
                return []
            async with self.db.writes_of(session):
                ids = await claims.claim(
                    session,
                    AlertDelivery.id,
                    AlertDelivery.attempts,
                    where=due,
                    limit=self.batch,
                    values={
                        "status": DeliveryStatus.SENDING,
                        "locked_until": now + self.lease,
                        "last_attempt_at": now,
                    },
                    probe=False,
                )
            if not ids:
                return []
            return await self._load(session, dict(ids))

    async def _load(self, session: AsyncSession, attempts: dict[int, int]) -> list[Claimed]:
        rows = await queries.deliveries_by_ids(session, list(attempts))
        channel_ids = {r.channel_id for r in rows if r.channel_id is not None}
        channels = {c.id: c for c in await queries.channels_by_ids(session, channel_ids)}
        orgs = {
            o.id: o
            for o in await session.scalars(
                select(Organization).where(Organization.id.in_({r.org_id for r in rows}))
            )
        }
        owners: dict[int, list[str]] = {}
        found: list[Claimed] = []
        for row in sorted(rows, key=lambda r: r.id):
            org = orgs[row.org_id]
            channel = channels.get(row.channel_id) if row.channel_id is not None else None
            target, problem = await self._target(session, row, channel, owners)
            found.append(
                Claimed(
                    id=row.id,
                    attempts=attempts[row.id],
                    max_attempts=row.max_attempts,
                    org_id=row.org_id,
                    org_slug=org.slug,
                    channel_id=row.channel_id,
                    created_at=row.created_at,
                    message=message_for(row.kind, dict(row.payload), org_name=org.name),
                    target=target,
                    problem=problem,
                )
            )
        return found

    async def _target(
        self,
        session: AsyncSession,
        row: AlertDelivery,
        channel: AlertChannel | None,
        owners: dict[int, list[str]],
    ) -> tuple[Target | None, str | None]:
        if row.kind == DeliveryKind.NOTICE:
            raw = row.payload.get("to")
            to = tuple(a for a in raw if isinstance(a, str)) if isinstance(raw, list) else ()
            return Target(kind=ChannelKind.EMAIL, addresses=to), None
        if channel is None:
            return None, "the channel was removed"
        if not channel.enabled and row.kind != DeliveryKind.TEST:
            return (
                None,
                f"the channel is disabled{': ' + channel.disabled_reason if channel.disabled_reason else ''}",
            )
        if channel.kind == ChannelKind.EMAIL and channel.confirmed_at is None:
            return None, "the address is not confirmed yet"
        if channel.kind == ChannelKind.OWNERS:
            if row.org_id not in owners:
                owners[row.org_id] = await tenancy_queries.member_emails(
                    session, org_id=row.org_id, roles=[Role.OWNER]
                )
            return Target(kind=ChannelKind.EMAIL, addresses=tuple(owners[row.org_id])), None
        if channel.kind == ChannelKind.EMAIL:
            return Target(kind=ChannelKind.EMAIL, addresses=(channel.address or "",)), None
        return Target(kind=channel.kind, url=channel.webhook_url), None

    async def send(self, claimed: list[Claimed]) -> list[Outcome]:
        """Sends every claimed row, a few at a time; never raises."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(item: Claimed) -> Outcome:
            if item.target is None:
                return Outcome(item, PermanentFailure(item.problem or "nothing to send to"))
            async with gate:
                try:
                    await self.registry.for_kind(item.target.kind).send(item.target, item.message)
                except DeliveryError as exc:
                    return Outcome(item, exc)
                except Exception as exc:
                    log.exception("alert delivery %d: unexpected error", item.id)
                    return Outcome(item, DeliveryError(f"unexpected error ({type(exc).__name__})"))
            return Outcome(item, None)

        async with self.registry.batch():
            return list(await asyncio.gather(*(one(item) for item in claimed)))

    async def record(self, outcomes: list[Outcome]) -> None:
        """Writes every outcome in one transaction: one executemany per kind of outcome."""
        now = self.clock()
        gone: dict[int, tuple[int, str, str]] = {}
        by_shape: dict[str, list[dict[str, Any]]] = {}
        for outcome in outcomes:
            item, error = outcome.claimed, outcome.error
            if error is None:
                elapsed = (now - item.created_at).total_seconds()
                shape, values = (
                    "sent",
                    {
                        "status": DeliveryStatus.SENT,
                        "sent_at": now,
                        "last_error": None,
                        "latency_ms": max(int(elapsed * 1000), 0),
                    },
                )
            elif error.retryable and item.attempts < item.max_attempts:
                delay = retry_delay(item.attempts, base=self.backoff_base, rng=self.rng)
                shape, values = (
                    "retry",
                    {
                        "status": DeliveryStatus.QUEUED,
                        "run_at": now + delay,
                        "last_error": str(error)[:2000],
                    },
                )
            else:
                shape, values = "failed", {"status": DeliveryStatus.FAILED, "last_error": str(error)[:2000]}
                if isinstance(error, ChannelGone) and item.channel_id is not None:
                    gone[item.channel_id] = (item.org_id, item.org_slug, str(error))
            by_shape.setdefault(shape, []).append({"id": item.id, "locked_until": None, **values})
        async with self.db.transaction() as session:
            for rows in by_shape.values():
                await session.execute(update(AlertDelivery), rows)  # bulk UPDATE by primary key
            for channel_id, (org_id, slug, reason) in gone.items():
                await disable_gone_channel(
                    session, org_id=org_id, org_slug=slug, channel_id=channel_id, reason=reason
                )

    async def make_digests(self) -> int:
        """Gathers the held rows of each channel whose digest is due into one digest row; looks at
        most once a minute (digests are daily: no need to query on every round of the worker)."""
        now = self.clock()
        if self._last_digest_check is not None and now - self._last_digest_check < DIGEST_CHECK_EVERY:
            return 0
        self._last_digest_check = now
        async with self.db.transaction() as session:
            due = await queries.channels_due_for_digest(session, last_digest_by=now - DIGEST_EVERY)
            made = 0
            for channel in due:
                made += await _digest(session, channel, now=now)
        return made


async def _digest(session: AsyncSession, channel: AlertChannel, *, now: datetime) -> int:
    channel.last_digest_at = now
    held = await queries.held_deliveries(session, channel_id=channel.id)
    if not held:
        return 0
    org = await session.get(Organization, channel.org_id)
    items = []
    for row in held[:DIGEST_ITEMS]:
        p = row.payload
        items.append(f"{p.get('occurred_at', '')} · {p.get('severity', '')} · {p.get('summary', '')}")
        row.status = DeliveryStatus.DIGESTED
    for row in held[DIGEST_ITEMS:]:
        row.status = DeliveryStatus.DIGESTED
    session.add(
        AlertDelivery(
            org_id=channel.org_id,
            channel_id=channel.id,
            kind=DeliveryKind.DIGEST,
            status=DeliveryStatus.QUEUED,
            run_at=now,
            attempts=0,
            group_count=len(held),
            max_attempts=outbox.DEFAULT_MAX_ATTEMPTS,
            created_at=now,
            payload={
                "items": items,
                "count": len(held),
                "link": f"/o/{org.slug}/events" if org else None,
            },
        )
    )
    await session.flush()
    return 1


async def disable_gone_channel(
    session: AsyncSession, *, org_id: int, org_slug: str, channel_id: int, reason: str
) -> None:
    """Disables the channel (once) and queues a mail to the org's owners and admins saying why."""
    channel = await queries.channel(session, org_id=org_id, channel_id=channel_id)
    if channel is None or not channel.enabled:
        return
    channel.enabled = False
    channel.disabled_reason = reason[:500]
    to = await tenancy_queries.member_emails(session, org_id=org_id, roles=ADMIN_ROLES)
    await outbox.enqueue_notice(
        session,
        org_id=org_id,
        to=to,
        title=f"Alert channel disabled: {channel.label}",
        summary=(
            f"wabawatch stopped sending alerts to {channel.label} because {reason}. "
            "Add a new webhook URL in the alert settings and remove this one."
        ),
        link=f"/o/{org_slug}/alerts",
    )
    log.warning("alert channel %d of org %d disabled: %s", channel_id, org_id, reason)
