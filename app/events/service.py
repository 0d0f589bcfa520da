"""Storing the parser's events for one webhook change, and the hook that runs after they commit.

Events are upserted by (change_id, seq): processing a change again (a retry, ``reprocess``) updates
the same rows and keeps their acknowledgement. Services flush, never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import outbox as alerts_outbox
from app.events import queries
from app.events.models import Event
from app.events.parsed import ParsedEvent, Severity
from app.wabas import service as wabas_service
from app.wabas.models import Waba
from app.wabas.service import LoadedRows, fit
from app.webhooks.models import WebhookChange

log = logging.getLogger(__name__)

# Called with the ids of newly created events once their transaction has committed. Live updates
# and alerts attach here; a hook must be quick (enqueue, notify) and never raise.
EventsCommittedHook = Callable[[Sequence[int]], Awaitable[None]]


@dataclass
class StoredEvents:
    created: list[int] = field(default_factory=list)
    updated: int = 0
    removed: int = 0


async def store_change_events(
    session: AsyncSession,
    *,
    change: WebhookChange,
    waba: Waba,
    parsed: Sequence[ParsedEvent],
    existing_events: Sequence[Event] | None = None,
    loaded: LoadedRows | None = None,
) -> StoredEvents:
    """Upserts one event per parsed item, finds or creates its phone number, applies its state
    updates (only if newer than the stored state) and moves the WABA's last_event_at.

    ``existing_events``: the change's events when the caller loaded them already (a batch)."""
    stored = StoredEvents()
    if existing_events is None:
        existing_events = await queries.events_of_change(session, change.id)
    existing = {event.seq: event for event in existing_events}
    for seq, item in enumerate(parsed):
        phone = await wabas_service.phone_for_event(
            session,
            waba,
            digits=item.phone_digits,
            phone_number_id=item.phone_number_id,
            display=item.display_phone_number,
            loaded=loaded,
        )
        event = existing.get(seq)
        if event is None:
            event = Event(change_id=change.id, seq=seq, app_pk=change.app_pk)
            session.add(event)
        event.org_id = waba.org_id
        event.waba_pk = waba.id
        event.waba_id = waba.waba_id
        event.phone = item.phone_digits or (phone.digits if phone else None)
        event.phone_number_id = item.phone_number_id or (phone.phone_number_id if phone else None)
        event.field = fit("field", item.field, 100) or ""
        event.kind = fit("kind", item.kind, 100) or ""
        event.severity = int(Severity(item.severity))
        event.occurred_at = item.occurred_at
        event.received_at = change.received_at
        event.summary = item.summary
        event.details = dict(item.details)
        await session.flush()
        if seq in existing:
            stored.updated += 1
        else:
            stored.created.append(event.id)
        for update_ in item.state:
            await wabas_service.apply_state(
                session,
                waba=waba,
                phone=phone,
                update_=update_,
                occurred_at=item.occurred_at,
                event_id=event.id,
                loaded=loaded,
            )
        if waba.last_event_at is None or item.occurred_at > waba.last_event_at:
            waba.last_event_at = item.occurred_at
    # The parser now makes fewer events of this change than before: drop the extra ones.
    for seq, event in existing.items():
        if seq >= len(parsed):
            await session.delete(event)
            stored.removed += 1
    await session.flush()
    # Alerts for the new events, in this transaction: they exist exactly when the events do.
    await alerts_outbox.enqueue_for_events(session, org_id=waba.org_id, event_ids=stored.created)
    return stored


async def events_committed(hooks: Sequence[EventsCommittedHook], event_ids: Sequence[int]) -> None:
    """Runs the after-commit hooks; a failing hook is logged and never undoes or blocks processing."""
    if not event_ids:
        return
    for hook in hooks:
        try:
            await hook(event_ids)
        except Exception:
            log.exception("after-commit hook %r failed for %d events", hook, len(event_ids))
