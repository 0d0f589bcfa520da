"""Registering WABAs, and what processing changes about them: phone numbers and current state.

Services flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from app.events.models import Event
from app.events.parsed import StateUpdate
from app.meta.models import MetaApp
from app.tenancy.models import Organization
from app.wabas import queries
from app.wabas.models import PhoneNumber, StateEntry, Waba
from app.webhooks.models import CHANGE_UNROUTED, ChangeStatus, WebhookChange

_WABA_ID = re.compile(r"^\d{1,64}$")


class WabaError(ValueError):
    """A WABA cannot be registered; the message says why, in words."""


# New rows of a batch go in as one executemany of one cached statement, which SQLAlchemy sends as
# multi-row INSERTs ("insertmanyvalues", RETURNING included; up to 1,000 rows a statement, within
# either database's limit on parameters). Compiling a fresh ``.values(rows)`` statement with every
# row's parameters cost more CPU than writing the rows, all of it while the batch held SQLite's
# write turn (app.db.writes).
# Every column comes back, so that a number put in the session after its insert has nothing left
# to load later: an attribute loaded on first access would need I/O outside the driver's context.
_PHONE_COLUMNS = tuple(attr.key for attr in sa_inspect(PhoneNumber).column_attrs)
_INSERT_PHONES = insert(PhoneNumber).returning(*(getattr(PhoneNumber, key) for key in _PHONE_COLUMNS))


def fit(name: str, value: str | None, limit: int) -> str | None:
    """``value`` unchanged, or ValueError when it is longer than its column: the same failure on
    SQLite (which would store it) as on PostgreSQL (which refuses it)."""
    if value is not None and len(value) > limit:
        raise ValueError(f"{name} is {len(value)} characters long; at most {limit} fit")
    return value


async def register_waba(
    session: AsyncSession, *, org: Organization, app: MetaApp, waba_id: str, name: str = ""
) -> tuple[Waba, int]:
    """Registers ``waba_id`` for ``org`` through ``app`` and routes the changes that arrived for it
    before: returns the WABA and how many earlier changes it now owns (the worker processes them)."""
    waba_id = waba_id.strip()
    if not _WABA_ID.match(waba_id):
        raise WabaError(f"{waba_id!r} is not a WABA id (digits only)")
    if app.org_id is not None and app.org_id != org.id:
        raise WabaError(f"Meta app {app.app_id} belongs to another organization")
    if await queries.waba_for_routing(session, app_pk=app.id, waba_id=waba_id) is not None:
        raise WabaError(f"WABA {waba_id} is already registered for Meta app {app.app_id}")
    waba = Waba(org_id=org.id, app_pk=app.id, waba_id=waba_id, name=fit("name", name.strip(), 300) or "")
    session.add(waba)
    await session.flush()
    routed = await route_unrouted(session, app_pk=app.id, waba_id=waba_id, org_id=org.id)
    return waba, routed


async def route_unrouted(session: AsyncSession, *, app_pk: int, waba_id: str, org_id: int) -> int:
    """Gives the unrouted changes of (app, WABA) to ``org_id`` and queues them for processing."""
    result = await session.execute(
        update(WebhookChange)
        .where(
            WebhookChange.app_pk == app_pk,
            WebhookChange.waba_id == waba_id,
            text(CHANGE_UNROUTED),
        )
        .values(org_id=org_id, status=ChangeStatus.PENDING, attempts=0, next_attempt_at=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def route_registered(session: AsyncSession) -> int:
    """Routes every unrouted change whose WABA has been registered since (closes the race between a
    split that saw no WABA and a registration that committed just after it)."""
    registered = queries.org_of_registered_waba(app_pk=WebhookChange.app_pk, waba_id=WebhookChange.waba_id)
    result = await session.execute(
        update(WebhookChange)
        .where(text(CHANGE_UNROUTED), registered.exists())
        .values(
            org_id=registered.limit(1).scalar_subquery(),
            status=ChangeStatus.PENDING,
            attempts=0,
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass
class LoadedRows:
    """The phone numbers and state entries a processing batch is about, read in two queries
    (``load``), so that storing the batch's events asks nothing more of the database: a number that
    ``load`` looked for and did not find does not exist, nor does a state entry of a subject it
    read. Numbers and entries the batch creates are added as it goes. ``clear()`` after a savepoint
    rolls back: the rollback expired (or removed) what the savepoint had touched."""

    phones: dict[int, list[PhoneNumber]] = field(default_factory=dict)  # by WABA pk, oldest first
    states: dict[tuple[int, str, str], StateEntry] = field(default_factory=dict)
    _ids: set[tuple[int, str]] = field(default_factory=set)  # (WABA pk, phone number id) looked for
    _digits: set[tuple[int, str]] = field(default_factory=set)  # (WABA pk, digits) looked for
    _subjects: set[tuple[int, str]] = field(default_factory=set)  # (WABA pk, subject) read
    _new: set[int] = field(default_factory=set)  # id() of the numbers created here (no state yet)
    # State entries made by this batch, not in the session: ``insert_new_states`` inserts them with
    # one statement (the ORM would insert them one at a time on SQLite).
    new_states: list[StateEntry] = field(default_factory=list)
    new_phones: list[PhoneNumber] = field(default_factory=list)  # likewise (``insert_new_phones``)
    # False: new rows go through the session instead (one change at a time after a batch failed,
    # where savepoints roll back and the session must know every row it made).
    bulk: bool = True
    inserted: list[PhoneNumber] = field(default_factory=list)  # put in the session by insert_new_phones

    def clear(self) -> None:
        for part in (
            self.phones,
            self.states,
            self._ids,
            self._digits,
            self._subjects,
            self._new,
            self.new_states,
        ):
            part.clear()

    def rolled_back(self, session: AsyncSession) -> None:
        """The savepoint these rows were stored in rolled back: the numbers it inserted no longer
        exist (and their ids may be given again), so they leave the session."""
        for phone in self.inserted:
            if phone in session:
                session.expunge(phone)
        self.clear()

    async def insert_new_phones(self, session: AsyncSession) -> None:
        """Inserts the numbers made since the last call with one statement and puts them in the
        session (persistent: what changes in them later is updated)."""
        if not self.new_phones:
            return
        columns = ("org_id", "waba_pk", "phone_number_id", "digits", "display_phone_number", "verified_name")
        by_key = {(p.waba_pk, p.digits, p.phone_number_id): p for p in self.new_phones}
        rows = [{c: getattr(p, c) for c in columns} for p in self.new_phones]
        connection = await session.connection()
        for row in (await connection.execute(_INSERT_PHONES, rows)).all():
            stored = dict(zip(_PHONE_COLUMNS, row, strict=True))
            phone = by_key[(stored["waba_pk"], stored["digits"], stored["phone_number_id"])]
            for key, value in stored.items():
                setattr(phone, key, value)
            make_transient_to_detached(phone)
            session.add(phone)
            self.inserted.append(phone)
        self.new_phones.clear()

    async def insert_new_states(self, session: AsyncSession) -> None:
        """Inserts the state entries made since the last call; later changes read them afresh."""
        if not self.new_states:
            return
        columns = ("org_id", "waba_pk", "subject", "key", "value", "occurred_at", "event_id")
        rows = [{c: getattr(entry, c) for c in columns} for entry in self.new_states]
        await (await session.connection()).execute(insert(StateEntry), rows)
        for entry in self.new_states:
            self.states.pop((entry.waba_pk, entry.subject, entry.key), None)
            self._subjects.discard((entry.waba_pk, entry.subject))
        self._new.clear()  # the new numbers' state is in the database now
        self.new_states.clear()

    async def load(self, session: AsyncSession, named: Iterable[tuple[Waba, str | None, str | None]]) -> None:
        """Reads the numbers that these (WABA, digits, phone number id) may name, and the state of
        those numbers and of the WABAs."""
        named = list(named)
        ids = {(w.id, i) for w, _, i in named if i} - self._ids
        digits = {(w.id, d) for w, d, _ in named if d} - self._digits
        found = await queries.phones_for_processing(session, ids=ids, digits=digits)
        for phone in found:
            self.remember(phone)
        self._ids |= ids
        self._digits |= digits
        subjects = {(w.id, "waba") for w, _, _ in named} | {(p.waba_pk, f"phone:{p.id}") for p in found}
        subjects -= self._subjects
        for entry in await queries.states_for_processing(session, subjects):
            self.states[(entry.waba_pk, entry.subject, entry.key)] = entry
        self._subjects |= subjects

    def remember(self, phone: PhoneNumber, *, new: bool = False) -> None:
        known = self.phones.setdefault(phone.waba_pk, [])
        if any(p is phone for p in known):
            return
        known.append(phone)
        if new:
            self._new.add(id(phone))
        else:
            known.sort(key=lambda p: (p.id is None, p.id or 0))

    def find(
        self, waba_pk: int, digits: str | None, phone_number_id: str | None
    ) -> tuple[bool, PhoneNumber | None]:
        """What ``_find_phone`` would answer, from memory: (True, the number or None) when ``load``
        looked for what it needs, (False, None) when the database must be asked."""
        known = self.phones.get(waba_pk, [])
        if phone_number_id:
            for phone in known:
                if phone.phone_number_id == phone_number_id:
                    return True, phone
            if (waba_pk, phone_number_id) not in self._ids:
                return False, None
        if digits:
            if (waba_pk, digits) not in self._digits:
                return False, None
            for phone in known:
                if phone.digits == digits and (
                    phone_number_id is None or phone.phone_number_id in (None, phone_number_id)
                ):
                    return True, phone
        return True, None

    @property
    def looked_for_digits(self) -> set[tuple[int, str]]:
        return self._digits

    def forget(self, gone: PhoneNumber, keep: PhoneNumber) -> None:
        """After ``merge_phones``: ``gone`` no longer exists, and the state of both is read afresh."""
        known = self.phones.get(gone.waba_pk, [])
        known[:] = [p for p in known if p is not gone]
        for phone in (gone, keep):
            subject = f"phone:{phone.id}"
            self._subjects.discard((phone.waba_pk, subject))
            self._new.discard(id(phone))
            for key in [k for k in self.states if k[:2] == (phone.waba_pk, subject)]:
                del self.states[key]

    def knows_state_of(self, waba_pk: int, subject: str, phone: PhoneNumber | None) -> bool:
        return (waba_pk, subject) in self._subjects or (phone is not None and id(phone) in self._new)


async def _find_phone(
    session: AsyncSession, waba: Waba, digits: str | None, phone_number_id: str | None
) -> PhoneNumber | None:
    if phone_number_id:
        phone = await queries.phone_by_number_id(session, waba_pk=waba.id, phone_number_id=phone_number_id)
        if phone is not None:
            return phone
    if digits:
        return await queries.phone_by_digits(
            session, waba_pk=waba.id, digits=digits, phone_number_id=phone_number_id
        )
    return None


async def phone_for_event(
    session: AsyncSession,
    waba: Waba,
    *,
    digits: str | None,
    phone_number_id: str | None,
    display: str | None,
    loaded: LoadedRows | None = None,
) -> PhoneNumber | None:
    """Finds the WABA's number by phone number id, else by digits, creating it when new; fills in
    whichever of the two was not known yet. None when the event names no number.

    With ``loaded``, what it has read is not asked again, and a new number is not flushed: the
    caller flushes before it needs the number's id."""
    if not digits and not phone_number_id:
        return None
    fit("phone number id", phone_number_id, 64)
    fit("phone digits", digits, 32)
    known, phone = loaded.find(waba.id, digits, phone_number_id) if loaded is not None else (False, None)
    if not known:
        phone = await _find_phone(session, waba, digits, phone_number_id)
        if phone is not None and loaded is not None:
            loaded.remember(phone)
    if phone is not None and digits and not phone.digits:
        # Found by its id, and this change is the first to name both: a row made earlier from the
        # digits alone is the same number. One row keeps both (the database refuses two with the
        # same digits); a row with these digits and another id is another number, left as it is.
        other = await _phone_with_digits(session, waba, digits, loaded)
        if other is not None and other is not phone:
            if other.phone_number_id is not None:
                digits = None
            else:
                await merge_phones(session, waba=waba, keep=phone, gone=other, loaded=loaded)
    if phone is None:
        phone = PhoneNumber(org_id=waba.org_id, waba_pk=waba.id, display_phone_number="", verified_name="")
        if loaded is not None:
            loaded.remember(phone, new=True)
        if loaded is not None and loaded.bulk:
            loaded.new_phones.append(phone)
        else:
            session.add(phone)
    if phone_number_id and not phone.phone_number_id:
        phone.phone_number_id = phone_number_id
    if digits and not phone.digits:
        phone.digits = digits
    if display and not phone.display_phone_number:
        phone.display_phone_number = display[:64]  # shown only; an id that does not fit fails instead
    if phone.id is None and loaded is None:  # new: its id names its state subject
        await session.flush()
    return phone


async def _phone_with_digits(
    session: AsyncSession, waba: Waba, digits: str, loaded: LoadedRows | None
) -> PhoneNumber | None:
    if loaded is not None and (waba.id, digits) in loaded.looked_for_digits:
        return next((p for p in loaded.phones.get(waba.id, []) if p.digits == digits), None)
    return await queries.phone_by_digits(session, waba_pk=waba.id, digits=digits, phone_number_id=None)


_FILLED_FROM_GONE = (
    "name_status",
    "quality_rating",
    "messaging_limit_tier",
    "code_verification_status",
    "throughput_level",
    "graph_status",
    "platform_type",
    "synced_at",
)


async def merge_phones(
    session: AsyncSession, *, waba: Waba, keep: PhoneNumber, gone: PhoneNumber, loaded: LoadedRows | None
) -> None:
    """Makes ``gone`` (known by its digits only) part of ``keep`` (known by its phone number id):
    its state entries move to ``keep`` unless ``keep`` has a newer one of the same key, its events
    are named by both identifiers, what ``keep`` lacks is taken from it, and its row is deleted.
    Rare (once per number, at most), so it asks the database directly."""
    if loaded is not None:
        await loaded.insert_new_phones(session)
    await session.flush()  # both rows have ids; their state subjects name them
    keep_subject, gone_subject = f"phone:{keep.id}", f"phone:{gone.id}"
    entries = await queries.states_for_processing(session, {(waba.id, keep_subject), (waba.id, gone_subject)})
    kept = {e.key: e for e in entries if e.subject == keep_subject}
    for entry in (e for e in entries if e.subject == gone_subject):
        mine = kept.get(entry.key)
        if mine is None:
            entry.subject = keep_subject
        else:
            if _newer(entry.occurred_at, entry.event_id or 0, mine):
                mine.value, mine.occurred_at, mine.event_id = entry.value, entry.occurred_at, entry.event_id
            await session.delete(entry)
    await session.execute(
        update(Event)
        .where(Event.waba_pk == waba.id, Event.phone == gone.digits, Event.phone_number_id.is_(None))
        .values(phone_number_id=keep.phone_number_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Event)
        .where(Event.waba_pk == waba.id, Event.phone_number_id == keep.phone_number_id, Event.phone.is_(None))
        .values(phone=gone.digits)
        .execution_options(synchronize_session=False)
    )
    for column in _FILLED_FROM_GONE:
        if getattr(keep, column) is None:
            setattr(keep, column, getattr(gone, column))
    keep.display_phone_number = keep.display_phone_number or gone.display_phone_number
    keep.verified_name = keep.verified_name or gone.verified_name
    await session.delete(gone)
    await session.flush()  # the digits are free for ``keep`` once the row that held them is gone
    if loaded is not None:
        loaded.forget(gone, keep)


def _newer(occurred_at: datetime, event_id: int, entry: StateEntry) -> bool:
    """Order of events: occurred_at, then event id. The same event again counts (reprocessing)."""
    return (occurred_at, event_id) >= (entry.occurred_at, entry.event_id or 0)


async def apply_state(
    session: AsyncSession,
    *,
    waba: Waba,
    phone: PhoneNumber | None,
    update_: StateUpdate,
    occurred_at: datetime,
    event_id: int,
    loaded: LoadedRows | None = None,
) -> bool:
    """Sets one state key unless a newer event already set it: a late delivery of an older change
    never rolls state back. False when nothing changed (older, or a phone update without a number)."""
    if update_.subject == "phone":
        if phone is None:
            return False
        if phone.id is None:  # new and not stored yet: its id names the subject
            if loaded is not None:
                await loaded.insert_new_phones(session)
            await session.flush()
        subject = f"phone:{phone.id}"
    else:
        subject = "waba"
    fit("state key", update_.key, 40)
    value: dict[str, Any] = dict(update_.value)
    key = (waba.id, subject, update_.key)
    if loaded is not None and loaded.knows_state_of(waba.id, subject, phone):
        entry = loaded.states.get(key)
    else:
        entry = await queries.state_entry(session, waba_pk=waba.id, subject=subject, key=update_.key)
    if entry is None:
        entry = StateEntry(
            org_id=waba.org_id,
            waba_pk=waba.id,
            subject=subject,
            key=update_.key,
            value=value,
            occurred_at=occurred_at,
            event_id=event_id,
        )
        if loaded is not None and loaded.bulk:
            loaded.new_states.append(entry)
        else:
            session.add(entry)
    elif _newer(occurred_at, event_id, entry):
        entry.value = value
        entry.occurred_at = occurred_at
        entry.event_id = event_id
    else:
        return False
    if loaded is not None:
        loaded.states[key] = entry
    return True


async def claim_silence_alert(session: AsyncSession, *, waba_pk: int, since: datetime, now: datetime) -> bool:
    """Marks the silence that began at ``since`` as alerted; False when it already was (by an earlier
    pass, or by another worker at the same moment: the update is the claim)."""
    result = await session.execute(
        update(Waba)
        .where(
            Waba.id == waba_pk,
            or_(Waba.silence_alerted_at.is_(None), Waba.silence_alerted_at < since),
        )
        .values(silence_alerted_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
