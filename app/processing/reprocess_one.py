"""Reprocessing one stored delivery from the inspector, the way ``wabawatch reprocess`` does it for
many: split it again (changes already stored are ignored by their dedup key), then process every
change of it again (events are upserted by change and seq, so nothing is duplicated)."""

from __future__ import annotations

from dataclasses import dataclass

from app.events import service as events_service
from app.jobs import claims
from app.processing.processor import Processor
from app.webhooks.models import DeliveryStatus, WebhookChange, WebhookDelivery


@dataclass(frozen=True)
class Reprocessed:
    new_changes: int
    changes: int
    events_created: int
    status: str


class NotReprocessable(ValueError):
    pass


async def reprocess_delivery(processor: Processor, *, delivery_id: int) -> Reprocessed:
    async with processor.db.transaction() as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.body is None:
            raise NotReprocessable("This delivery's body was purged by the retention policy.")
        if delivery.status == DeliveryStatus.INVALID_JSON:
            raise NotReprocessable("This delivery is not JSON; it is kept for inspection only.")
        claimed = await claims.claim(
            session,
            WebhookDelivery.id,
            WebhookDelivery.attempts,
            where=[WebhookDelivery.id == delivery_id],
            limit=1,
            skip_locked=False,
        )
        split = await processor.split_claimed(session, claimed, now=processor.clock())
    async with processor.db.transaction() as session:
        claimed = await claims.claim(
            session,
            WebhookChange.id,
            WebhookChange.attempts,
            where=[WebhookChange.delivery_id == delivery_id],
            limit=10_000,
            skip_locked=False,
        )
        part, created = await processor.process_claimed(session, claimed, now=processor.clock())
        status = (await session.get(WebhookDelivery, delivery_id)).status  # type: ignore[union-attr]
    await events_service.events_committed(processor.hooks, created)
    return Reprocessed(
        new_changes=split.new_changes, changes=part.claimed, events_created=part.events_created, status=status
    )
