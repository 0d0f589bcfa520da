"""Reads of WABAs, their phone numbers and their current state.

Routing reads (``waba_for_routing``, ``routes_for``, ``org_of_registered_waba``) are by (app, WABA
id), not by org: they are how a webhook change finds its org in the first place. The worker's
``connected_wabas`` and ``subscribed_wabas`` span every org on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, SQLColumnExpression, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.wabas.models import PhoneNumber, StateEntry, Waba


async def waba_for_routing(
    session: AsyncSession, *, app_pk: int, waba_id: str, lock: bool = False
) -> Waba | None:
    """The WABA registered for this app. ``lock`` takes its row lock (PostgreSQL): processing
    holds it so that one WABA's phone numbers and state are changed by one transaction at a time."""
    stmt = select(Waba).where(Waba.app_pk == app_pk, Waba.waba_id == waba_id)
    if lock:
        stmt = stmt.with_for_update()
    found: Waba | None = await session.scalar(stmt)
    return found


async def wabas_for_routing(
    session: AsyncSession, keys: Iterable[tuple[int, str]], *, lock: bool = False
) -> dict[tuple[int, str], Waba]:
    """(app_pk, WABA id) -> WABA for the registered ones among ``keys``. ``lock`` takes their row
    locks in id order, so that workers locking overlapping sets wait instead of deadlocking."""
    wanted = set(keys)
    if not wanted:
        return {}
    stmt = (
        select(Waba)
        .where(Waba.app_pk.in_({app_pk for app_pk, _ in wanted}), Waba.waba_id.in_({w for _, w in wanted}))
        .order_by(Waba.id)
    )
    if lock:
        stmt = stmt.with_for_update()
    found = await session.scalars(stmt)
    return {(w.app_pk, w.waba_id): w for w in found if (w.app_pk, w.waba_id) in wanted}


async def lock_free_wabas(
    session: AsyncSession, wanted: Sequence[tuple[tuple[int, str], int]], *, enough: int
) -> set[tuple[int, str]]:
    """PostgreSQL: takes, in the order given and without waiting (SKIP LOCKED: another worker holds
    the others), the row locks of WABAs (app_pk, WABA id) until their counts reach ``enough``; the
    ones it holds now, and the ones on the way no WABA is registered for (nothing to lock: their
    changes are to be marked unrouted). One lock at a time, so a worker takes no more WABAs than
    one batch needs and leaves the rest to the others."""
    keys = [key for key, _ in wanted]
    if not keys:
        return set()
    pair = tuple_(Waba.app_pk, Waba.waba_id)
    rows = await session.execute(select(Waba.id, Waba.app_pk, Waba.waba_id).where(pair.in_(keys)))
    registered = {(app_pk, waba_id): waba_pk for waba_pk, app_pk, waba_id in rows.all()}
    held: set[tuple[int, str]] = set()
    covered = 0
    for key, count in wanted:
        waba_pk = registered.get(key)
        if waba_pk is not None:
            lock = select(Waba.id).where(Waba.id == waba_pk).with_for_update(skip_locked=True)
            if await session.scalar(lock) is None:
                continue  # another worker's
        held.add(key)
        covered += count
        if covered >= enough:
            break
    return held


async def routes_for(session: AsyncSession, *, app_pk: int, waba_ids: Iterable[str]) -> dict[str, int]:
    """WABA id -> org id, for the given WABA ids that are registered for this app."""
    wanted = sorted(set(waba_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Waba.waba_id, Waba.org_id).where(Waba.app_pk == app_pk, Waba.waba_id.in_(wanted))
    )
    return {waba_id: org_id for waba_id, org_id in rows.all()}


async def waba_of_org(session: AsyncSession, *, org_id: int, waba_id: str) -> Waba | None:
    found: Waba | None = await session.scalar(
        select(Waba).where(Waba.org_id == org_id, Waba.waba_id == waba_id).order_by(Waba.id).limit(1)
    )
    return found


async def wabas_of_org(session: AsyncSession, org_id: int) -> list[Waba]:
    rows = await session.scalars(select(Waba).where(Waba.org_id == org_id).order_by(Waba.name, Waba.waba_id))
    return list(rows)


async def phone_by_number_id(
    session: AsyncSession, *, waba_pk: int, phone_number_id: str
) -> PhoneNumber | None:
    found: PhoneNumber | None = await session.scalar(
        select(PhoneNumber)
        .where(PhoneNumber.waba_pk == waba_pk, PhoneNumber.phone_number_id == phone_number_id)
        .order_by(PhoneNumber.id)
        .limit(1)
    )
    return found


async def phone_by_digits(
    session: AsyncSession, *, waba_pk: int, digits: str, phone_number_id: str | None
) -> PhoneNumber | None:
    """The WABA's number with these digits whose phone number id is unknown or equal to the given one."""
    stmt = select(PhoneNumber).where(PhoneNumber.waba_pk == waba_pk, PhoneNumber.digits == digits)
    if phone_number_id is not None:
        stmt = stmt.where(
            or_(PhoneNumber.phone_number_id.is_(None), PhoneNumber.phone_number_id == phone_number_id)
        )
    found: PhoneNumber | None = await session.scalar(stmt.order_by(PhoneNumber.id).limit(1))
    return found


async def phones_for_processing(
    session: AsyncSession, *, ids: Iterable[tuple[int, str]], digits: Iterable[tuple[int, str]]
) -> list[PhoneNumber]:
    """The phone numbers a processing batch may name, oldest first: every number of those WABAs with
    one of these (WABA pk, phone number id) or (WABA pk, digits). By WABA pk, not org: the worker
    reads WABAs it has already routed to."""
    ids, digits = set(ids), set(digits)
    wabas = {pk for pk, _ in ids | digits}
    if not wabas:
        return []
    named = []
    if ids:
        named.append(PhoneNumber.phone_number_id.in_(sorted({i for _, i in ids})))
    if digits:
        named.append(PhoneNumber.digits.in_(sorted({d for _, d in digits})))
    rows = await session.scalars(
        select(PhoneNumber)
        .where(PhoneNumber.waba_pk.in_(sorted(wabas)), or_(*named))
        .order_by(PhoneNumber.id)
    )
    return list(rows)


async def states_for_processing(
    session: AsyncSession, subjects: Iterable[tuple[int, str]]
) -> list[StateEntry]:
    """The state entries of these (WABA pk, subject) pairs (see ``phones_for_processing``)."""
    subjects = set(subjects)
    if not subjects:
        return []
    rows = await session.scalars(
        select(StateEntry).where(
            StateEntry.waba_pk.in_(sorted({pk for pk, _ in subjects})),
            StateEntry.subject.in_(sorted({subject for _, subject in subjects})),
        )
    )
    return [entry for entry in rows if (entry.waba_pk, entry.subject) in subjects]


async def state_entry(session: AsyncSession, *, waba_pk: int, subject: str, key: str) -> StateEntry | None:
    found: StateEntry | None = await session.scalar(
        select(StateEntry).where(
            StateEntry.waba_pk == waba_pk, StateEntry.subject == subject, StateEntry.key == key
        )
    )
    return found


async def subscription_counts(session: AsyncSession, *, app_pk: int) -> dict[bool | None, int]:
    """How many of the app's WABAs are subscribed (True), not (False) or never checked (None)."""
    rows = await session.execute(
        select(Waba.subscribed, func.count()).where(Waba.app_pk == app_pk).group_by(Waba.subscribed)
    )
    return {subscribed: int(n) for subscribed, n in rows}


async def waba_names(session: AsyncSession, *, org_id: int) -> dict[str, str]:
    """WABA id -> name, for every WABA of the org."""
    stmt = select(Waba.waba_id, Waba.name).where(Waba.org_id == org_id)
    return {str(w): str(n) for w, n in (await session.execute(stmt)).all()}


async def waba_by_pk(session: AsyncSession, *, org_id: int, waba_pk: int) -> Waba | None:
    """One WABA of the org by primary key; None for another org's (its pages answer 404)."""
    found: Waba | None = await session.scalar(select(Waba).where(Waba.org_id == org_id, Waba.id == waba_pk))
    return found


async def phones_of_wabas(
    session: AsyncSession, *, org_id: int, waba_pks: Sequence[int]
) -> list[PhoneNumber]:
    """Every phone number of these WABAs of the org, oldest first, in one query however many."""
    rows = await session.scalars(
        select(PhoneNumber)
        .where(PhoneNumber.org_id == org_id, PhoneNumber.waba_pk.in_(waba_pks))
        .order_by(PhoneNumber.id)
    )
    return list(rows)


async def state_of_wabas(session: AsyncSession, *, org_id: int, waba_pks: Sequence[int]) -> list[StateEntry]:
    """Every state entry (of the WABAs themselves and of their numbers) of these WABAs of the org,
    in no particular order, in one query however many."""
    rows = await session.scalars(
        select(StateEntry).where(StateEntry.org_id == org_id, StateEntry.waba_pk.in_(waba_pks))
    )
    return list(rows)


def org_of_registered_waba(
    *, app_pk: SQLColumnExpression[int], waba_id: SQLColumnExpression[str | None]
) -> Select[int]:
    """A statement to use as a subquery: the org id of the WABA registered as (``app_pk``,
    ``waba_id``), one row at most. Given another table's columns it correlates with that table's
    rows: the worker routes the webhook changes that arrived before their WABA was registered. Not
    scoped by org, since the org is what it answers."""
    return select(Waba.org_id).where(Waba.app_pk == app_pk, Waba.waba_id == waba_id)


async def connected_wabas(session: AsyncSession, *, synced_before: datetime) -> list[tuple[int, int]]:
    """(org id, WABA pk) of every WABA with a token, not disconnected, not synced since
    ``synced_before``, least recently synced first: the worker's sync list. Cross-tenant by design:
    the worker syncs every org's WABAs, each within its own org."""
    rows = await session.execute(
        select(Waba.org_id, Waba.id)
        .where(
            Waba.access_token.is_not(None),
            Waba.disconnected_at.is_(None),
            or_(Waba.synced_at.is_(None), Waba.synced_at < synced_before),
        )
        .order_by(Waba.synced_at.is_not(None), Waba.synced_at, Waba.id)
    )
    return [(org_id, pk) for org_id, pk in rows.all()]


async def subscribed_wabas(session: AsyncSession) -> list[Waba]:
    """Every WABA our app is subscribed to, in every org: the worker's silence watch reads them
    (app.wabas.silence decides which are silent). Cross-tenant by design, like ``connected_wabas``."""
    rows = await session.scalars(select(Waba).where(Waba.subscribed.is_(True)).order_by(Waba.id))
    return list(rows)


async def app_pks_of_org(session: AsyncSession, *, org_id: int) -> dict[int, int]:
    """App primary key -> how many of the org's WABAs it routes: the apps whose webhooks reach the
    org (the platform's included), whoever registered them."""
    rows = await session.execute(
        select(Waba.app_pk, func.count()).where(Waba.org_id == org_id).group_by(Waba.app_pk)
    )
    return {int(app_pk): int(n) for app_pk, n in rows}


async def orgs_of_app(session: AsyncSession, *, app_pk: int) -> list[int]:
    """The orgs with a WABA connected through this app, whichever org owns it (a news read: who to
    tell that Meta verified the app's callback URL)."""
    rows = await session.scalars(select(Waba.org_id).where(Waba.app_pk == app_pk).distinct())
    return sorted(int(org_id) for org_id in rows)
