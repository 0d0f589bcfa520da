"""Reads of events, the one module that selects them: the timeline, the exports, live updates and
processing. Tenant reads are always scoped by org id.

Pages use keyset cursors on (occurred_at, id), never offsets, so a page costs the same at any depth
and rows arriving meanwhile do not shift it. The cursor is compared as a row value, which both
PostgreSQL and SQLite (3.15+) turn into a range scan of the (org_id, occurred_at, id) index.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    bindparam,
    func,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.cutoffs import older_than_cutoff
from app.events import catalog
from app.events.filters import FilterError, Filters, apply_filters, phone_matches
from app.events.models import Event
from app.events.parsing.selftest import TEST_FIELD
from app.tenancy.models import User

S = TypeVar("S", bound="Select[*tuple[Any, ...]]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class Positioned(Protocol):
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def id(self) -> int: ...


@dataclass(frozen=True)
class Cursor:
    """A position in an org's events: the (occurred_at, id) of the last row shown."""

    occurred_at: datetime
    id: int

    @classmethod
    def of(cls, event: Positioned) -> Cursor:
        return cls(event.occurred_at, event.id)

    def encode(self) -> str:
        return f"{(self.occurred_at - _EPOCH) // _MICRO}-{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Raises ValueError for anything that is not a cursor this module made."""
        micros, _, ident = text.partition("-")
        if not micros.isdigit() or not ident.isdigit():
            raise ValueError(f"not a cursor: {text!r}")
        return cls(_EPOCH + int(micros) * _MICRO, int(ident))


def _at(cursor: Cursor) -> tuple[BindParameter[datetime], BindParameter[int]]:
    """The cursor as typed parameters (so the time is stored the way the column stores it)."""
    return (
        bindparam(None, cursor.occurred_at, type_=Event.__table__.c.occurred_at.type),
        bindparam(None, cursor.id, type_=Event.__table__.c.id.type),
    )


def _filtered(stmt: S, where: Filters) -> S:
    """``stmt`` (already scoped to one org) narrowed by the filter."""
    return apply_filters(stmt, where)


async def newest_first(
    session: AsyncSession, *, org_id: int, where: Filters, before: Cursor | None, limit: int
) -> list[Event]:
    """Up to ``limit`` events of the org, newest first, older than ``before`` when given."""
    stmt = scoped_events(org_id=org_id, where=where)
    if before is not None:
        stmt = stmt.where(tuple_(Event.occurred_at, Event.id) < tuple_(*_at(before)))
    stmt = stmt.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit)
    return list(await session.scalars(stmt))


# A text search (``q``) cannot use an index: it reads the org's events newest first until a page is
# full. It reads them in bounded ranges (an index walk that stops at the page's size, however rare
# the text): TEXT_SCAN_BUDGET events first, each further range twice the last, while the page is not
# full and TEXT_SEARCH_SECONDS have not passed. When time runs out first, the page says how far back
# it looked and links to the rest. (Read when called, so tests can shrink them.)
TEXT_SCAN_BUDGET = 10_000
TEXT_SEARCH_SECONDS = 0.25


@dataclass(frozen=True)
class SearchPage:
    """Matches newest first; ``looked_back_to`` is where the search stopped when its time ran out
    before ``limit`` matches (the next page continues before it), None when it did not."""

    events: list[Event]
    looked_back_to: Cursor | None


async def _position_down(
    session: AsyncSession, *, org_id: int, where: Filters, before: Cursor | None, rows: int
) -> Cursor | None:
    """The position ``rows`` rows older than ``before`` (read from the index alone), or None when
    fewer rows are left."""
    stmt = apply_filters(select(Event.occurred_at, Event.id).where(Event.org_id == org_id), where)
    if before is not None:
        stmt = stmt.where(tuple_(Event.occurred_at, Event.id) < tuple_(*_at(before)))
    stmt = stmt.order_by(Event.occurred_at.desc(), Event.id.desc()).offset(rows - 1).limit(1)
    row = (await session.execute(stmt)).first()
    return None if row is None else Cursor(row[0], row[1])


async def _matches_in_range(
    session: AsyncSession,
    *,
    org_id: int,
    where: Filters,
    before: Cursor | None,
    end: Cursor | None,
    limit: int,
) -> list[Event]:
    """Matches older than ``before`` and no older than ``end`` (to the oldest when None)."""
    stmt = scoped_events(org_id=org_id, where=where)
    if before is not None:
        stmt = stmt.where(tuple_(Event.occurred_at, Event.id) < tuple_(*_at(before)))
    if end is not None:
        stmt = stmt.where(tuple_(Event.occurred_at, Event.id) >= tuple_(*_at(end)))
    stmt = stmt.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit)
    return list(await session.scalars(stmt))


async def search_newest_first(
    session: AsyncSession, *, org_id: int, where: Filters, before: Cursor | None, limit: int
) -> SearchPage:
    """Like ``newest_first`` for a filter with ``q``, reading range after range (see above): a
    frequent text fills the page from the first range; a rare one is searched for as long as
    TEXT_SEARCH_SECONDS allow, and the page then links on from where it stopped."""
    deadline = time.monotonic() + TEXT_SEARCH_SECONDS
    unfiltered = replace(where, q=None)
    found: list[Event] = []
    rows = TEXT_SCAN_BUDGET
    while True:
        end = await _position_down(session, org_id=org_id, where=unfiltered, before=before, rows=rows)
        found += await _matches_in_range(
            session, org_id=org_id, where=where, before=before, end=end, limit=limit - len(found)
        )
        if end is None or len(found) >= limit:  # the oldest reached, or the page is full
            return SearchPage(found, None)
        if time.monotonic() >= deadline:
            return SearchPage(found, end)
        before, rows = end, rows * 2


EXPORT_COLUMNS = (
    Event.id,
    Event.field,
    Event.kind,
    Event.severity,
    Event.waba_id,
    Event.phone,
    Event.occurred_at,
    Event.received_at,
    Event.summary,
)


async def oldest_first(
    session: AsyncSession, *, org_id: int, where: Filters, after: Cursor | None, limit: int
) -> Sequence[Row[int, str, str, int, str | None, str | None, datetime, datetime, str]]:
    """Up to ``limit`` events of the org, oldest first, newer than ``after``: rows of
    ``EXPORT_COLUMNS`` (plain rows cost half what entities do on a long export)."""
    stmt = _filtered(select(*EXPORT_COLUMNS).where(Event.org_id == org_id), where)
    if after is not None:
        stmt = stmt.where(tuple_(Event.occurred_at, Event.id) > tuple_(*_at(after)))
    stmt = stmt.order_by(Event.occurred_at.asc(), Event.id.asc()).limit(limit)
    # Plain rows straight from the connection: the ORM's row loading would cost as much again.
    connection = await session.connection()
    return (await connection.execute(stmt)).all()


async def event_of_org(session: AsyncSession, *, org_id: int, event_pk: int) -> Event | None:
    """One event of the org (None for another org's: the page answers 404)."""
    found: Event | None = await session.scalar(
        select(Event).where(Event.org_id == org_id, Event.id == event_pk)
    )
    return found


TEMPLATE_FIELDS = (
    "message_template_components_update",
    "message_template_quality_update",
    "message_template_status_update",
    "template_category_update",
)


@dataclass(frozen=True)
class Subject:
    """What an event is about, for its "Related events": a template, a phone number or a WABA."""

    kind: str  # "template", "phone", "waba" or "" (nothing to relate it to)
    value: str


def subject_of(event: Event) -> Subject:
    """A template event is about its template (by id, else by name); an event with a number is about
    that number; anything else with a WABA is about the WABA itself."""
    if event.field in TEMPLATE_FIELDS:
        details = event.details if isinstance(event.details, dict) else {}
        for key in ("template_id", "template_name"):
            value = details.get(key)
            if isinstance(value, str) and value:
                return Subject(f"template:{key}", value)
    if event.phone:
        return Subject("phone", event.phone)
    if event.waba_id:
        return Subject("waba", event.waba_id)
    return Subject("", "")


async def related_events(session: AsyncSession, *, org_id: int, event: Event, limit: int = 10) -> list[Event]:
    """The newest other events of the org about the same subject (``subject_of``): the template's
    other updates, the number's other account events (a message event: the number's other events of
    its own field), or the WABA's own account events (those about no number and no template)."""
    subject = subject_of(event)
    stmt = select(Event).where(Event.org_id == org_id, Event.id != event.id)
    if subject.kind.startswith("template:"):
        key = subject.kind.removeprefix("template:")
        stmt = stmt.where(
            Event.waba_id == event.waba_id,
            Event.field.in_(TEMPLATE_FIELDS),
            Event.details[key].as_string() == subject.value,
        )
    elif subject.kind == "phone":
        same = (
            Event.field == event.field
            if event.field in catalog.MESSAGE_FIELDS
            else text(catalog.ACCOUNT_EVENTS_SQL)
        )
        stmt = stmt.where(Event.phone == subject.value, same)
    elif subject.kind == "waba":
        stmt = stmt.where(
            Event.phone.is_(None),
            Event.waba_id == subject.value,
            Event.field.not_in(TEMPLATE_FIELDS),
            text(catalog.ACCOUNT_EVENTS_SQL),
        )
    else:
        return []
    stmt = stmt.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit)
    return list(await session.scalars(stmt))


async def history_of_phone(
    session: AsyncSession, *, org_id: int, phone: str, fields: tuple[str, ...], limit: int = 200
) -> list[Event]:
    """The phone's newest events of these fields, oldest first (for the quality/tier chart)."""
    stmt = (
        scoped_events(org_id=org_id, where=Filters(phone=phone))
        .where(Event.field.in_(fields))
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(limit)
    )
    return list(reversed(list(await session.scalars(stmt))))


async def user_email(session: AsyncSession, user_id: int | None) -> str | None:
    """Who acknowledged an event (users are not tenant-owned; the id comes from an org's event)."""
    if user_id is None:
        return None
    found: str | None = await session.scalar(select(User.email).where(User.id == user_id))
    return found


async def events_of_changes(session: AsyncSession, change_ids: list[int]) -> dict[int, list[Event]]:
    """The events already made from these changes, by change id (one query for a whole batch)."""
    found: dict[int, list[Event]] = {change_id: [] for change_id in change_ids}
    if change_ids:
        rows = await session.scalars(
            select(Event).where(Event.change_id.in_(change_ids)).order_by(Event.change_id, Event.seq)
        )
        for event in rows:
            if event.change_id is not None:  # always, given the filter; synthetic events have none
                found[event.change_id].append(event)
    return found


async def orgs_of_events(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, list[int]]:
    """The given events grouped by org (unrouted events, with no org, are nobody's news)."""
    found: dict[int, list[int]] = {}
    if not event_ids:
        return found
    rows = await session.execute(
        select(Event.org_id, Event.id)
        .where(Event.id.in_(list(event_ids)), Event.org_id.is_not(None))
        .order_by(Event.id)
    )
    for org_id, event_id in rows:
        if org_id is not None:
            found.setdefault(org_id, []).append(event_id)
    return found


async def events_by_ids(
    session: AsyncSession, *, org_id: int, where: Filters, ids: Sequence[int]
) -> list[Event]:
    """Those of ``ids`` that belong to the org and match the filter, oldest id first."""
    if not ids:
        return []
    stmt = select(Event).where(Event.org_id == org_id, Event.id.in_(list(ids)))
    stmt = apply_filters(stmt, where).order_by(Event.id)
    return list(await session.scalars(stmt))


async def events_after(
    session: AsyncSession, *, org_id: int, where: Filters, after_id: int, limit: int
) -> list[Event]:
    """The org's matching events with an id above ``after_id``, oldest id first, at most ``limit``."""
    stmt = select(Event).where(Event.org_id == org_id, Event.id > after_id)
    stmt = apply_filters(stmt, where).order_by(Event.id).limit(limit)
    return list(await session.scalars(stmt))


async def latest_event_id(session: AsyncSession, *, org_id: int) -> int:
    """The org's highest event id (0 when it has none): where a fresh stream starts."""
    found = await session.scalar(select(func.max(Event.id)).where(Event.org_id == org_id))
    return int(found or 0)


async def new_event_of_org(session: AsyncSession, *, org_id: int, event_pk: int) -> Event | None:
    """An event of the org that this transaction has just stored (None for another org's): read
    through the session's identity map, so it costs no query while the session holds it."""
    found = await session.get(Event, event_pk)
    return found if found is not None and found.org_id == org_id else None


async def new_events_of_org(
    session: AsyncSession, *, org_id: int, event_pks: Sequence[int]
) -> dict[int, Event]:
    """The events of the org among ``event_pks`` that this transaction has just stored, by id, in
    one query however many (processing stores them with bulk statements)."""
    if not event_pks:
        return {}
    rows = await session.scalars(select(Event).where(Event.org_id == org_id, Event.id.in_(list(event_pks))))
    return {event.id: event for event in rows}


async def field_counts(session: AsyncSession) -> list[tuple[str, int]]:
    """How many events are stored, by field, over every org (a count only: for /metrics)."""
    rows = await session.execute(
        select(Event.field, func.count()).group_by(Event.field).order_by(Event.field)
    )
    return [(field, int(n)) for field, n in rows]


async def event_ids_past_cutoff(
    session: AsyncSession, *, field: str, custom: dict[int, datetime], default: datetime, limit: int
) -> list[int]:
    """Ids of ``field`` events, of every org, that occurred before their org's cutoff (``custom`` by
    org id, ``default`` for the others and unrouted events): at most ``limit``, lowest id first."""
    stmt = (
        select(Event.id)
        .where(
            Event.field == field,
            older_than_cutoff(Event.org_id, Event.occurred_at, custom=custom, default=default),
        )
        .order_by(Event.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


def scoped_events(*, org_id: int, where: Filters) -> Select[Event]:
    """The org's events matching ``where`` (unordered): the one place the scope is added to a
    select of whole events. Callers add their own order, cursor and limit."""
    return apply_filters(select(Event).where(Event.org_id == org_id), where)


async def open_counts(session: AsyncSession, *, org_id: int) -> dict[str | None, dict[int, int]]:
    """WABA id -> severity -> how many of the org's account events are open (warning or critical,
    not yet acknowledged; message statuses are not counted), in one query whatever the number of
    WABAs. The literal severity and field condition let both databases answer from the partial
    ``ix_events_org_open`` index alone (it holds the field since migration 0016)."""
    rows = await session.execute(
        select(Event.waba_id, Event.severity, func.count())
        .where(
            Event.org_id == org_id,
            Event.severity >= literal_column("1"),
            Event.acknowledged_at.is_(None),
            text(catalog.ACCOUNT_EVENTS_SQL),
        )
        .group_by(Event.waba_id, Event.severity)
    )
    counts: dict[str | None, dict[int, int]] = defaultdict(dict)
    for waba_id, severity, count in rows.all():
        counts[waba_id][severity] = count
    return counts


async def numbers_of_org(session: AsyncSession, *, org_id: int, limit: int = 10_000) -> list[str]:
    """The distinct phone numbers of the org's events, in order: a skip scan of the (org_id, phone,
    …) index, one index probe per number (never a read of the org's events)."""
    first = select(Event.phone).where(Event.org_id == org_id, Event.phone.is_not(None))
    seen = first.order_by(Event.phone).limit(1).subquery().select().cte("seen_phones", recursive=True)
    after = (
        select(Event.phone)
        .where(Event.org_id == org_id, Event.phone > seen.c.phone)
        .order_by(Event.phone)
        .limit(1)
        .scalar_subquery()
    )
    seen = seen.union_all(select(after).where(seen.c.phone.is_not(None)))
    rows = await session.scalars(select(seen.c.phone).where(seen.c.phone.is_not(None)).limit(limit))
    return [phone for phone in rows if phone]


async def _org_has(session: AsyncSession, *, org_id: int, where: ColumnElement[bool]) -> bool:
    """Whether any event of the org matches (one probe of an (org_id, column, …) index)."""
    return (await session.scalar(select(Event.id).where(Event.org_id == org_id, where).limit(1))) is not None


MAX_PHONE_MATCHES = 500


async def checked_filters(session: AsyncSession, *, org_id: int, filters: Filters) -> Filters:
    """``filters`` checked against what the org can have, with a phone pattern resolved to the org's
    matching numbers. A field or kind must be one the parser makes or one the org's events have;
    a phone pattern must match one of the org's numbers. Raises ``FilterError`` saying what is wrong."""
    if filters.field and filters.field not in catalog.FIELDS:
        if not await _org_has(session, org_id=org_id, where=Event.field == filters.field):
            raise FilterError(
                f"“{filters.field}” is not a field wabawatch knows, and no event here has it."
                + catalog.suggestion(filters.field, catalog.FIELDS)
            )
    if filters.kind and filters.kind not in catalog.KINDS:
        if not await _org_has(session, org_id=org_id, where=Event.kind == filters.kind):
            raise FilterError(
                f"“{filters.kind}” is not a kind of event wabawatch knows, and no event here has it."
                + catalog.suggestion(filters.kind, catalog.KINDS)
            )
    if not filters.phone:
        return filters
    numbers = [n for n in await numbers_of_org(session, org_id=org_id) if phone_matches(filters, n)]
    if not numbers:
        said = f"contains {filters.phone}" if filters.phone_contains else f"starts with +{filters.phone}"
        raise FilterError(f"No number in the events of this organization {said}.")
    if len(numbers) > MAX_PHONE_MATCHES:
        raise FilterError(f"“{filters.phone}” matches {len(numbers)} numbers: type more of the number.")
    return replace(filters, phones=tuple(numbers))


async def count_matching(
    session: AsyncSession,
    *,
    org_id: int,
    since: datetime,
    fields: Sequence[str] = (),
    kinds: Sequence[str] = (),
    min_severity: int | None = None,
    waba_ids: Sequence[str] = (),
) -> int:
    """How many of the org's events since ``since`` match these conditions (an empty one matches
    everything): one count, for an alert rule's preview."""
    stmt = select(func.count()).select_from(Event).where(Event.org_id == org_id, Event.occurred_at >= since)
    if fields:
        stmt = stmt.where(Event.field.in_(list(fields)))
    if kinds:
        stmt = stmt.where(Event.kind.in_(list(kinds)))
    if min_severity is not None and min_severity > 0:
        stmt = stmt.where(Event.severity >= literal_column(str(int(min_severity))))
    if waba_ids:
        stmt = stmt.where(Event.waba_id.in_(list(waba_ids)))
    return int(await session.scalar(stmt) or 0)


async def seen_names(
    session: AsyncSession, *, org_id: int, column: Literal["field", "kind"], names: Sequence[str]
) -> set[str]:
    """Those of ``names`` that some event of the org has as its field (or kind)."""
    if not names:
        return set()
    col = Event.field if column == "field" else Event.kind
    rows = await session.scalars(select(col).where(Event.org_id == org_id, col.in_(list(names))).distinct())
    return set(rows)


async def first_real_event_id(session: AsyncSession, *, org_id: int) -> int | None:
    """The org's oldest event that Meta sent (not wabawatch's test event), or None: whether
    notifications have started to arrive."""
    found = await session.scalar(
        select(Event.id)
        .where(Event.org_id == org_id, Event.field != TEST_FIELD)
        .order_by(Event.org_id, Event.id)
        .limit(1)
    )
    return int(found) if found is not None else None


async def latest_test_event(session: AsyncSession, *, org_id: int) -> Event | None:
    """The org's newest test event (sent from the set-up checklist)."""
    found: Event | None = await session.scalar(
        select(Event)
        .where(Event.org_id == org_id, Event.field == TEST_FIELD)
        .order_by(Event.id.desc())
        .limit(1)
    )
    return found
