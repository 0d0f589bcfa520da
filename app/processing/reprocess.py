"""Rebuilding events from stored deliveries: ``wabawatch reprocess`` for many, the delivery
inspector's button for one.

Deliveries are split again (changes already stored are ignored by their dedup key) and every change
of those deliveries is routed and processed again; events are upserted by (change, seq), so running
it twice leaves the same events. Batches lock their rows (waiting for a worker that holds them), so
it is safe to run next to running workers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import ColumnElement, select

from app.events.hooks import events_committed
from app.jobs import claims
from app.processing.processor import BatchReport, Processor
from app.webhooks.models import DeliveryStatus, WebhookChange, WebhookDelivery


@dataclass
class ReprocessReport:
    deliveries: BatchReport
    changes: BatchReport

    def lines(self) -> list[str]:
        d, c = self.deliveries, self.changes
        return [
            f"deliveries: {d.claimed} split again ({d.failed} failed), {d.new_changes} new changes",
            f"changes: {c.claimed} processed again: {c.processed} routed, {c.unrouted} unrouted, {c.failed} failed",
            f"events: {c.events_created} created, {c.events_updated} updated",
        ]


@dataclass(frozen=True)
class Reprocessed:
    """One delivery reprocessed, as the inspector says it."""

    new_changes: int
    changes: int
    events_created: int
    status: str


class NotReprocessable(ValueError):
    pass


def _add(total: BatchReport, part: BatchReport) -> None:
    for f in fields(BatchReport):
        setattr(total, f.name, getattr(total, f.name) + getattr(part, f.name))


async def reprocess(
    processor: Processor,
    *,
    since: datetime | None = None,
    delivery_id: int | None = None,
    batch: int = 50,
) -> ReprocessReport:
    """Every delivery with a JSON body (received at or after ``since``; or only ``delivery_id``)."""
    now = processor.clock()
    chosen: list[ColumnElement[bool]] = [
        WebhookDelivery.status != DeliveryStatus.INVALID_JSON,
        WebhookDelivery.body.is_not(None),
    ]
    if since is not None:
        chosen.append(WebhookDelivery.received_at >= since)
    if delivery_id is not None:
        chosen.append(WebhookDelivery.id == delivery_id)
    report = ReprocessReport(BatchReport(), BatchReport())

    last = 0
    while True:
        async with processor.db.transaction() as session:
            claimed = await claims.claim(
                session,
                WebhookDelivery.id,
                WebhookDelivery.attempts,
                where=[*chosen, WebhookDelivery.id > last],
                limit=batch,
                skip_locked=False,
            )
            if not claimed:
                break
            _add(report.deliveries, await processor.split_claimed(session, claimed, now=now))
        last = claimed[-1][0]

    of_chosen = WebhookChange.delivery_id.in_(select(WebhookDelivery.id).where(*chosen))
    last = 0
    while True:
        async with processor.db.transaction() as session:
            claimed = await claims.claim(
                session,
                WebhookChange.id,
                WebhookChange.attempts,
                where=[of_chosen, WebhookChange.id > last],
                limit=batch,
                skip_locked=False,
            )
            if not claimed:
                break
            part, created = await processor.process_claimed(session, claimed, now=now)
            _add(report.changes, part)
        await events_committed(processor.hooks, created)
        last = claimed[-1][0]
    return report


async def reprocess_delivery(processor: Processor, *, delivery_id: int) -> Reprocessed:
    """One delivery, or ``NotReprocessable`` saying in words why not."""
    async with processor.db.read() as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.body is None:
            raise NotReprocessable("This delivery's body was purged by the retention policy.")
        if delivery.status == DeliveryStatus.INVALID_JSON:
            raise NotReprocessable("This delivery is not JSON; it is kept for inspection only.")
    report = await reprocess(processor, delivery_id=delivery_id)
    async with processor.db.read() as session:
        status = await session.scalar(select(WebhookDelivery.status).where(WebhookDelivery.id == delivery_id))
    return Reprocessed(
        new_changes=report.deliveries.new_changes,
        changes=report.changes.claimed,
        events_created=report.changes.events_created,
        status=status or "deleted",
    )
