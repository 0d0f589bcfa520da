"""Cross-tenant reads. They exist only in the staff domain, and every page that shows their
results writes an audit row (see ``app.staff.routes``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib import phones
from app.meta.models import MetaApp
from app.tenancy.models import Membership, Organization, User
from app.wabas.models import PhoneNumber, StateEntry, Waba

MAX_QUERY = 200
MAX_HITS = 50


@dataclass
class WabaHit:
    waba: Waba
    app_id: str
    phones: list[PhoneNumber] = field(default_factory=list)
    state: list[StateEntry] = field(default_factory=list)


@dataclass
class OrgHit:
    org: Organization
    matched: set[str] = field(default_factory=set)  # what matched: waba, phone, name, org, email
    wabas: list[WabaHit] = field(default_factory=list)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _matching_wabas(session: AsyncSession, q: str) -> dict[int, set[str]]:
    """WABA pk -> what matched, for the WABA id, numbers (any formatting) and names."""
    found: dict[int, set[str]] = {}

    def add(pks: Iterable[int], why: str) -> None:
        for pk in pks:
            found.setdefault(pk, set()).add(why)

    add(await session.scalars(select(Waba.id).where(Waba.waba_id == q)), "waba")
    add(await session.scalars(select(Waba.id).where(Waba.name.icontains(q, autoescape=True))), "name")
    number = phones.digits(q)
    if number is not None:
        add(await session.scalars(select(PhoneNumber.waba_pk).where(PhoneNumber.digits == number)), "phone")
    add(await session.scalars(select(PhoneNumber.waba_pk).where(PhoneNumber.phone_number_id == q)), "phone")
    add(
        await session.scalars(
            select(PhoneNumber.waba_pk).where(PhoneNumber.verified_name.icontains(q, autoescape=True))
        ),
        "name",
    )
    if len(q) >= 3:
        # Requested display names are only in the phone's "name" state (from name-update events).
        pattern = f'%"requested_name": "%{_like(q)}%"%'
        add(
            await session.scalars(
                select(StateEntry.waba_pk).where(
                    StateEntry.key == "name", cast(StateEntry.value, Text).ilike(pattern, escape="\\")
                )
            ),
            "name",
        )
    return found


async def _matching_orgs(session: AsyncSession, q: str) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    orgs = await session.scalars(
        select(Organization.id).where(
            or_(Organization.name.icontains(q, autoescape=True), Organization.slug == q.lower())
        )
    )
    for org_id in orgs:
        found.setdefault(org_id, set()).add("org")
    if "@" in q or len(q) >= 3:
        by_email = await session.scalars(
            select(Membership.org_id)
            .join(User, User.id == Membership.user_id)
            .where(User.email.icontains(q.lower(), autoescape=True))
        )
        for org_id in by_email:
            found.setdefault(org_id, set()).add("email")
    return found


async def search(session: AsyncSession, text: str) -> list[OrgHit]:
    """Orgs matching ``text`` by WABA id, phone number, display names, org name or member email,
    each with its matching WABAs (or, for an org or email match, all its WABAs) and their state."""
    q = text.strip()[:MAX_QUERY]
    if not q:
        return []
    waba_matches = await _matching_wabas(session, q)
    org_matches = await _matching_orgs(session, q)
    wabas = (
        list(await session.scalars(select(Waba).where(Waba.id.in_(waba_matches)).order_by(Waba.id)))
        if waba_matches
        else []
    )
    hits: dict[int, OrgHit] = {}
    org_ids = {w.org_id for w in wabas} | set(org_matches)
    orgs = await session.scalars(
        select(Organization).where(Organization.id.in_(org_ids)).order_by(Organization.name)
    )
    for org in list(orgs)[:MAX_HITS]:
        hits[org.id] = OrgHit(org=org, matched=set(org_matches.get(org.id, set())))
    for waba in wabas:
        if waba.org_id in hits:
            hits[waba.org_id].matched |= waba_matches[waba.id]
    # Org and email matches show all the org's WABAs; the others show the WABAs that matched.
    shown = [w for w in wabas if w.org_id in hits]
    whole = [oid for oid, hit in hits.items() if hit.matched & {"org", "email"}]
    if whole:
        shown += list(
            await session.scalars(
                select(Waba)
                .where(Waba.org_id.in_(whole), Waba.id.not_in([w.id for w in shown]))
                .order_by(Waba.id)
            )
        )
    for hit in await waba_hits(session, shown):
        hits[hit.waba.org_id].wabas.append(hit)
    return list(hits.values())


async def waba_hits(session: AsyncSession, wabas: list[Waba]) -> list[WabaHit]:
    """The WABAs with their app id, phone numbers and current state."""
    if not wabas:
        return []
    pks = [w.id for w in wabas]
    rows = await session.execute(
        select(MetaApp.id, MetaApp.app_id).where(MetaApp.id.in_({w.app_pk for w in wabas}))
    )
    app_ids = {pk: app_id for pk, app_id in rows}
    out = {w.id: WabaHit(waba=w, app_id=app_ids.get(w.app_pk, "")) for w in wabas}
    for phone in await session.scalars(
        select(PhoneNumber).where(PhoneNumber.waba_pk.in_(pks)).order_by(PhoneNumber.id)
    ):
        out[phone.waba_pk].phones.append(phone)
    for entry in await session.scalars(
        select(StateEntry).where(StateEntry.waba_pk.in_(pks)).order_by(StateEntry.subject, StateEntry.key)
    ):
        out[entry.waba_pk].state.append(entry)
    return list(out.values())


async def wabas_of_org(session: AsyncSession, *, org_id: int) -> list[WabaHit]:
    wabas = list(await session.scalars(select(Waba).where(Waba.org_id == org_id).order_by(Waba.id)))
    return await waba_hits(session, wabas)


async def apps_of_org(session: AsyncSession, *, org_id: int) -> list[MetaApp]:
    return list(
        await session.scalars(select(MetaApp).where(MetaApp.org_id == org_id).order_by(MetaApp.app_id))
    )
