"""``wabawatch reprocess``: rebuild events from the stored deliveries.

Deliveries are split again (changes already stored are ignored by their dedup key) and every change
of those deliveries is routed and processed again; events are upserted by (change, seq), so running
it twice leaves the same events. Batches lock their rows (waiting for a worker that holds them), so
it is safe to run next to running workers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import ColumnElement, select

from app.events import service as events_service
from app.jobs import claims
from app.lib.timeutil import parse_iso8601
from app.processing.processor import BatchReport, Processor
from app.settings import Settings
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


def _add(total: BatchReport, part: BatchReport) -> None:
    for f in fields(BatchReport):
        setattr(total, f.name, getattr(total, f.name) + getattr(part, f.name))


async def reprocess(processor: Processor, *, since: datetime | None, batch: int = 50) -> ReprocessReport:
    now = processor.clock()
    chosen: list[ColumnElement[bool]] = [
        WebhookDelivery.status != DeliveryStatus.INVALID_JSON,
        WebhookDelivery.body.is_not(None),
    ]
    if since is not None:
        chosen.append(WebhookDelivery.received_at >= since)
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
            _add(
                report.deliveries,
                await processor.split_claimed(session, claimed, now=now),
            )
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
        await events_service.events_committed(processor.hooks, created)
        last = claimed[-1][0]
    return report


async def reprocess_command(settings: Settings, *, since: str | None) -> int:
    """``wabawatch reprocess [--since ISO8601]``: prints what it did."""
    from app.cli.users import open_database
    from app.worker import after_commit_hooks

    start = parse_iso8601(since) if since else None
    db = open_database(settings)
    try:
        report = await reprocess(Processor(db, hooks=after_commit_hooks(db)), since=start)
    finally:
        await db.dispose()
    print(
        f"reprocessed deliveries received since {start.isoformat()}"
        if start
        else "reprocessed every delivery"
    )
    for line in report.lines():
        print(line)
    return 0
