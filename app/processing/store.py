"""Storing the parser's events for a batch of webhook changes, with the state and alerts they bring.

Events are upserted by (change_id, seq): processing a change again (a retry, ``reprocess``) updates
the same rows and keeps their acknowledgement. Services flush, never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
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
    WABAs' numbers and state are read at once (``LoadedRows``), new numbers are flushed, new events
    and state entries are inserted with one statement each, and the rows that change (events made
    before, state entries, WABAs) go in one flush, an executemany per table."""
    loaded = loaded if loaded is not None else LoadedRows()
    await loaded.load(session, _named(items))
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
    await loaded.insert_new_phones(session)  # new numbers get their ids (events and state name them)
    await session.flush()  # the identifiers filled in known numbers
    results = [StoredEvents() for _ in items]
    ids, made = await _upsert_events(session, items, phones, results)
    for item, item_phones, item_ids in zip(items, phones, ids, strict=True):
        for parsed, number, event_id in zip(item.parsed, item_phones, item_ids, strict=True):
            for update_ in parsed.state:
                await wabas_service.apply_state(
                    session,
                    waba=item.waba,
                    phone=number.row,
                    update_=update_,
                    occurred_at=parsed.occurred_at,
                    event_id=event_id,
                    loaded=loaded,
                )
            if parsed.field == TEST_FIELD:
                continue  # wabawatch's own test: Meta has not spoken (silence stays visible)
            if item.waba.last_event_at is None or parsed.occurred_at > item.waba.last_event_at:
                item.waba.last_event_at = parsed.occurred_at
    await loaded.insert_new_states(session)
    # Alerts for the new events, in this transaction: they exist exactly when the events do.
    by_org: dict[int, list[int]] = {}
    for item, stored in zip(items, results, strict=True):
        by_org.setdefault(item.waba.org_id, []).extend(stored.created)
    for org_id, event_ids in by_org.items():
        await alerts_outbox.enqueue_for_events(session, org_id=org_id, event_ids=event_ids, events=made)
    await session.flush()
    return results


async def prepare_batch(session: AsyncSession, items: Sequence[ChangeEvents], *, loaded: LoadedRows) -> None:
    """Reads, ahead of ``store_batch``, what it will read: the numbers and state entries these items
    name (into ``loaded``) and the alert rules of their orgs (kept in ``session``)."""
    await loaded.load(session, _named(items))
    for org_id in sorted({item.waba.org_id for item in items}):
        await alerts_outbox.prepare(session, org_id=org_id)


def _named(items: Sequence[ChangeEvents]) -> list[tuple[Waba, str | None, str | None]]:
    """Every (WABA, digits, phone number id) the items name, and each WABA itself."""
    return [(item.waba, p.phone_digits, p.phone_number_id) for item in items for p in item.parsed] + [
        (item.waba, None, None) for item in items
    ]


@dataclass(frozen=True)
class _Phone:
    row: PhoneNumber | None
    digits: str | None
    phone_number_id: str | None


_NO_PHONE = _Phone(None, None, None)


async def _upsert_events(
    session: AsyncSession,
    items: Sequence[ChangeEvents],
    phones: Sequence[Sequence[_Phone]],
    results: list[StoredEvents],
) -> tuple[list[list[int]], dict[int, Event]]:
    """Each change's events, one per parsed item by seq: the new ones inserted with one statement
    (the ORM inserts rows one at a time on SQLite, which cannot return them in order), the ones a
    retry or ``reprocess`` made before updated in place, extra old ones deleted. The ids, per item,
    and the new events by id (as inserted; not in the session), for their alerts."""
    new_rows: list[dict[str, Any]] = []
    ids: list[list[int | None]] = []
    for item, item_phones, stored in zip(items, phones, results, strict=True):
        change, waba = item.change, item.waba
        existing = {event.seq: event for event in item.existing}
        item_ids: list[int | None] = []
        for seq, (parsed, phone) in enumerate(zip(item.parsed, item_phones, strict=True)):
            values = {
                "org_id": waba.org_id,
                "waba_pk": waba.id,
                "waba_id": waba.waba_id,
                "phone": parsed.phone_digits or phone.digits,
                "phone_number_id": parsed.phone_number_id or phone.phone_number_id,
                "field": fit("field", parsed.field, 100) or "",
                "kind": fit("kind", parsed.kind, 100) or "",
                "severity": int(Severity(parsed.severity)),
                "occurred_at": parsed.occurred_at,
                "received_at": change.received_at,
                "summary": parsed.summary,
                "details": dict(parsed.details),
            }
            event = existing.get(seq)
            if event is None:
                new_rows.append({"change_id": change.id, "seq": seq, "app_pk": change.app_pk, **values})
                item_ids.append(None)
                continue
            for name, value in values.items():
                setattr(event, name, value)
            stored.updated += 1
            item_ids.append(event.id)
        # The parser now makes fewer events of this change than before: drop the extra ones.
        for seq, event in existing.items():
            if seq >= len(item.parsed):
                await session.delete(event)
                stored.removed += 1
        ids.append(item_ids)
    made: dict[tuple[int, int], int] = {}
    new_events: dict[int, Event] = {}
    if new_rows:
        connection = await session.connection()
        inserted = (await connection.execute(_INSERT_EVENTS, new_rows)).all()
        for (new_id, change_id, seq), row in zip(inserted, new_rows, strict=True):
            made[(int(change_id or 0), int(seq))] = int(new_id)
            new_events[int(new_id)] = Event(id=int(new_id), **row)
    found: list[list[int]] = []
    for item, item_ids, stored in zip(items, ids, results, strict=True):
        complete = []
        for seq, event_id in enumerate(item_ids):
            if event_id is None:
                event_id = made[(item.change.id, seq)]
                stored.created.append(event_id)
            complete.append(event_id)
        found.append(complete)
    return found, new_events


# One cached statement, sent as multi-row INSERTs (see app.wabas.service, _INSERT_PHONES).
_INSERT_EVENTS = insert(Event).returning(Event.id, Event.change_id, Event.seq)

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
