"""Keeps ``staff_search_terms`` up to date: the folded names and the ids of orgs, WABAs and phone
numbers (WABA ids, phone digits, phone_number_ids), and the ids and names found in events (wamids,
template names, requested display names).

Events are only ever appended, so they are indexed from a mark (the highest event id done); a
purged event takes its terms with it (foreign key, on delete cascade). Orgs, WABAs and numbers are
indexed the same way when they are new; a rename is picked up by ``refresh_names``, which the
worker's ``staff.index`` pass runs every few minutes. The search runs ``catch_up`` first, so what
arrived since the last pass is searchable too (bounded: ``SEARCH_BATCH`` events per search).

Each source's mark row is locked while it is indexed (``SKIP LOCKED`` on PostgreSQL: a search that
finds the worker indexing does not wait for it), so two indexers never copy the same rows twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event
from app.jobs.claims import dialect_name
from app.staff.models import MAX_TERM, SearchMark, SearchTerm
from app.staff.text import fold
from app.tenancy.models import Organization
from app.wabas.models import PhoneNumber, Waba

EVENT_BATCH = 5000
SEARCH_BATCH = 500
NAME_BATCH = 5000
# Event details that hold something a support engineer pastes: (details key, term kind).
EVENT_KEYS = (
    ("message_id", "wamid"),
    ("template_name", "template"),
    ("requested_name", "display_name"),
)


@dataclass(frozen=True)
class Term:
    org_id: int
    waba_pk: int | None
    event_id: int | None
    kind: str
    ref: str
    text: str

    @property
    def stored(self) -> str:
        return self.text.strip()[:MAX_TERM]

    def row(self) -> dict[str, Any]:
        text = self.stored
        return {
            "org_id": self.org_id,
            "waba_pk": self.waba_pk,
            "event_id": self.event_id,
            "kind": self.kind,
            "ref": self.ref,
            "text": text,
            "folded": fold(text)[:MAX_TERM],
        }


async def _mark(session: AsyncSession, source: str) -> int | None:
    """The source's mark (made at 0 the first time), locked for this transaction; None when
    another indexer holds it. One query when the mark exists, as it does after the first run."""
    postgres = dialect_name(session) == "postgresql"
    locked = select(SearchMark.last_id).where(SearchMark.source == source)
    if postgres:
        locked = locked.with_for_update(skip_locked=True)
    found = await session.scalar(locked)
    if found is not None:
        return int(found)
    exists = await session.scalar(select(SearchMark.source).where(SearchMark.source == source))
    if exists is not None:
        return None  # held by another indexer
    upsert = pg_insert if postgres else sqlite_insert
    await session.execute(upsert(SearchMark).values(source=source, last_id=0).on_conflict_do_nothing())
    found = await session.scalar(locked)
    return None if found is None else int(found)


async def _set_mark(session: AsyncSession, source: str, last_id: int) -> None:
    await session.execute(update(SearchMark).where(SearchMark.source == source).values(last_id=last_id))


async def _insert(session: AsyncSession, terms: Iterable[Term]) -> int:
    rows = [t.row() for t in terms if t.stored]
    if rows:
        await session.execute(insert(SearchTerm), rows)
    return len(rows)


def event_terms(event_id: int, org_id: int, waba_pk: int | None, details: dict[str, Any]) -> list[Term]:
    out = []
    for key, kind in EVENT_KEYS:
        value = details.get(key)
        if isinstance(value, str) and value.strip():
            out.append(Term(org_id, waba_pk, event_id, kind, f"event:{event_id}", value.strip()))
    return out


async def index_events(session: AsyncSession, *, limit: int = EVENT_BATCH) -> int:
    """Indexes up to ``limit`` events past the mark; returns how many events were read."""
    after = await _mark(session, "events")
    if after is None:
        return 0
    rows = (
        await session.execute(
            select(Event.id, Event.org_id, Event.waba_pk, Event.details)
            .where(Event.id > after)
            .order_by(Event.id)
            .limit(limit)
        )
    ).all()
    if not rows:
        return 0
    terms = [
        term
        for event_id, org_id, waba_pk, details in rows
        if org_id is not None and isinstance(details, dict)
        for term in event_terms(event_id, org_id, waba_pk, details)
    ]
    await _insert(session, terms)
    await _set_mark(session, "events", rows[-1][0])
    return len(rows)


def _org_terms(orgs: Sequence[Organization]) -> list[Term]:
    return [Term(o.id, None, None, "org", f"org:{o.id}", o.name) for o in orgs]


def _waba_terms(wabas: Sequence[Waba]) -> list[Term]:
    out = []
    for w in wabas:
        out.append(Term(w.org_id, w.id, None, "waba_name", f"waba:{w.id}", w.name))
        out.append(Term(w.org_id, w.id, None, "waba_id", f"waba:{w.id}", w.waba_id))
    return out


def _phone_terms(numbers: Sequence[PhoneNumber]) -> list[Term]:
    out = []
    for p in numbers:
        ref = f"phone:{p.id}"
        out.append(Term(p.org_id, p.waba_pk, None, "verified_name", ref, p.verified_name))
        out.append(Term(p.org_id, p.waba_pk, None, "phone", ref, p.digits or ""))
        out.append(Term(p.org_id, p.waba_pk, None, "phone_number_id", ref, p.phone_number_id or ""))
    return out


_SOURCES: tuple[tuple[str, Any, Any], ...] = (
    ("orgs", Organization, _org_terms),
    ("wabas", Waba, _waba_terms),
    ("phones", PhoneNumber, _phone_terms),
)


async def _replace(session: AsyncSession, refs: list[str], terms: list[Term]) -> None:
    for start in range(0, len(refs), 500):
        await session.execute(delete(SearchTerm).where(SearchTerm.ref.in_(refs[start : start + 500])))
    await _insert(session, terms)


async def index_new_names(session: AsyncSession) -> None:
    """Orgs, WABAs and numbers created since the last call."""
    for source, model, terms_of in _SOURCES:
        after = await _mark(session, source)
        if after is None:
            continue
        rows = list(
            await session.scalars(select(model).where(model.id > after).order_by(model.id).limit(NAME_BATCH))
        )
        if rows:
            made = terms_of(rows)
            await _replace(session, sorted({t.ref for t in made}), made)
            await _set_mark(session, source, rows[-1].id)


def _grouped(pairs: Iterable[tuple[str, str, str]]) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {}
    for ref, kind, text in pairs:
        if text:
            out.setdefault(ref, set()).add((kind, text))
    return out


async def refresh_names(session: AsyncSession) -> int:
    """Re-reads every org, WABA and number and rewrites the terms of those that changed (a
    rename, a number the Graph sync completed); returns how many rows changed. Reads in id order,
    ``NAME_BATCH`` rows at a time."""
    changed = 0
    for _source, model, terms_of in _SOURCES:
        last = 0
        while True:
            rows = list(
                await session.scalars(
                    select(model).where(model.id > last).order_by(model.id).limit(NAME_BATCH)
                )
            )
            if not rows:
                break
            last = rows[-1].id
            made: list[Term] = terms_of(rows)
            refs = sorted({t.ref for t in made})
            wanted = _grouped((t.ref, t.kind, t.stored) for t in made)
            stored = await session.execute(
                select(SearchTerm.ref, SearchTerm.kind, SearchTerm.text).where(SearchTerm.ref.in_(refs))
            )
            have = _grouped((ref, kind, text) for ref, kind, text in stored)
            stale = [ref for ref in refs if wanted.get(ref, set()) != have.get(ref, set())]
            if stale:
                await _replace(session, stale, [t for t in made if t.ref in set(stale)])
                changed += len(stale)
    return changed


async def catch_up(session: AsyncSession) -> None:
    """What the search runs first: new names and up to ``SEARCH_BATCH`` new events (the worker's
    pass does the bulk; this covers the seconds since its last run without making a search wait
    for a backlog)."""
    await index_new_names(session)
    await index_events(session, limit=SEARCH_BATCH)


async def term_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(SearchTerm)) or 0)
