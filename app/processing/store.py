"""Storing the parser's events for a batch of webhook changes, with the state and alerts they bring.

Events are upserted by (change_id, seq): processing a change again (a retry, ``reprocess``) updates
the same rows and keeps their acknowledgement. Services flush, never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import outbox as alerts_outbox
from app.events import queries as events_queries
from app.events.models import Event
from app.events.parsed import ParsedEvent, Severity
from app.events.parsing.selftest import TEST_FIELD
from app.lib.vocabulary import say
from app.wabas import queries as wabas_queries
from app.wabas import service as wabas_service
from app.wabas.models import PhoneNumber, Waba
from app.wabas.service import LoadedRows, fit
from app.webhooks import queries as webhooks_queries
from app.webhooks.models import WebhookChange

log = logging.getLogger(__name__)


@dataclass
class StoredEvents:
    created: list[int] = field(default_factory=list)
    updated: int = 0
    removed: int = 0


@dataclass
class ChangeEvents:
    """A routed change, what the parser made of it and the events it made before (a retry,
    ``reprocess``): one item of a batch to store."""

    change: WebhookChange
    waba: Waba
    parsed: Sequence[ParsedEvent]
    existing: Sequence[Event] = ()


async def store_batch(
    session: AsyncSession, items: Sequence[ChangeEvents], *, loaded: LoadedRows | None = None
) -> list[StoredEvents]:
    """Upserts one event per parsed item, finds or creates its phone number, applies its state
    updates (only if newer than the stored state), moves the WABA's last_event_at and enqueues the
    alerts of the new events; what it did, per item.

    Whole batches at a time, so that the cost is a few statements per batch, not per change: the
    WABAs' numbers and state are read at once (``LoadedRows``), then the numbers, the events and the
    rest are written with one flush each (the ORM sends each table's rows as one statement)."""
    loaded = loaded if loaded is not None else LoadedRows()
    await loaded.load(
        session,
        [(item.waba, p.phone_digits, p.phone_number_id) for item in items for p in item.parsed]
        + [(item.waba, None, None) for item in items],
    )
    phones: list[list[_Phone]] = []
    for item in items:
        item_phones: list[_Phone] = []
        for parsed in item.parsed:
            phone = await wabas_service.phone_for_event(
                session,
                item.waba,
                digits=parsed.phone_digits,
                phone_number_id=parsed.phone_number_id,
                display=parsed.display_phone_number,
                loaded=loaded,
            )
            # What the number is known as at this event (a later one may fill in more).
            item_phones.append(_Phone(phone, phone.digits, phone.phone_number_id) if phone else _NO_PHONE)
        phones.append(item_phones)
    await session.flush()  # new numbers get their ids (events and state subjects name them)
    results: list[StoredEvents] = []
    events: list[list[tuple[Event, bool]]] = []
    for item, item_phones in zip(items, phones, strict=True):
        stored = StoredEvents()
        events.append(await _upsert_events(session, item, item_phones, stored))
        results.append(stored)
    await session.flush()  # new events get their ids (state entries and alerts name them)
    for item, item_phones, item_events, stored in zip(items, phones, events, results, strict=True):
        for parsed, number, (event, new) in zip(item.parsed, item_phones, item_events, strict=True):
            if new:
                stored.created.append(event.id)
            for update_ in parsed.state:
                await wabas_service.apply_state(
                    session,
                    waba=item.waba,
                    phone=number.row,
                    update_=update_,
                    occurred_at=parsed.occurred_at,
                    event_id=event.id,
                    loaded=loaded,
                )
            if parsed.field == TEST_FIELD:
                continue  # wabawatch's own test: Meta has not spoken (silence stays visible)
            if item.waba.last_event_at is None or parsed.occurred_at > item.waba.last_event_at:
                item.waba.last_event_at = parsed.occurred_at
    # Alerts for the new events, in this transaction: they exist exactly when the events do.
    by_org: dict[int, list[int]] = {}
    for item, stored in zip(items, results, strict=True):
        by_org.setdefault(item.waba.org_id, []).extend(stored.created)
    for org_id, event_ids in by_org.items():
        await alerts_outbox.enqueue_for_events(session, org_id=org_id, event_ids=event_ids)
    await session.flush()
    return results


@dataclass(frozen=True)
class _Phone:
    row: PhoneNumber | None
    digits: str | None
    phone_number_id: str | None


_NO_PHONE = _Phone(None, None, None)


async def _upsert_events(
    session: AsyncSession, item: ChangeEvents, phones: Sequence[_Phone], stored: StoredEvents
) -> list[tuple[Event, bool]]:
    """The change's events, one per parsed item by seq, and whether each is new (not flushed);
    extra old ones are deleted."""
    change, waba = item.change, item.waba
    existing = {event.seq: event for event in item.existing}
    events: list[tuple[Event, bool]] = []
    for seq, (parsed, phone) in enumerate(zip(item.parsed, phones, strict=True)):
        event = existing.get(seq)
        if event is None:
            event = Event(change_id=change.id, seq=seq, app_pk=change.app_pk)
            session.add(event)
        else:
            stored.updated += 1
        event.org_id = waba.org_id
        event.waba_pk = waba.id
        event.waba_id = waba.waba_id
        event.phone = parsed.phone_digits or phone.digits
        event.phone_number_id = parsed.phone_number_id or phone.phone_number_id
        event.field = fit("field", parsed.field, 100) or ""
        event.kind = fit("kind", parsed.kind, 100) or ""
        event.severity = int(Severity(parsed.severity))
        event.occurred_at = parsed.occurred_at
        event.received_at = change.received_at
        event.summary = parsed.summary
        event.details = dict(parsed.details)
        events.append((event, seq not in existing))
    # The parser now makes fewer events of this change than before: drop the extra ones.
    for seq, event in existing.items():
        if seq >= len(item.parsed):
            await session.delete(event)
            stored.removed += 1
    return events


UNREADABLE = "could_not_be_read"


async def store_unreadable(session: AsyncSession, *, change_id: int, reason: str) -> int | None:
    """The event that shows, on its org's timeline, a routed change that no attempt could store:
    what it was, why it failed, and (on the event's page) the raw change and its delivery. It takes
    the change's first place (seq 0), so a later ``reprocess`` that succeeds replaces it with the
    change's real event. None when the change is not routed or already has an event."""
    [change] = await webhooks_queries.changes_by_ids(session, [change_id])
    if change.org_id is None or change.waba_id is None:
        return None
    if (await events_queries.events_of_changes(session, [change_id]))[change_id]:
        return None
    waba = await wabas_queries.waba_for_routing(session, app_pk=change.app_pk, waba_id=change.waba_id)
    if waba is None:
        return None
    event = Event(
        change_id=change.id,
        seq=0,
        app_pk=change.app_pk,
        org_id=change.org_id,
        waba_pk=waba.id,
        waba_id=change.waba_id,
        field=change.field,
        kind=UNREADABLE,
        severity=int(Severity.WARNING),
        occurred_at=change.entry_time or change.received_at,
        received_at=change.received_at,
        summary=f"A notification about {say('field', change.field)} could not be read: {reason}",
        details={"reason": reason},
    )
    session.add(event)
    await session.flush()
    await alerts_outbox.enqueue_for_events(session, org_id=change.org_id, event_ids=[event.id])
    return event.id
