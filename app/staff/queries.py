"""Cross-tenant reads. They exist only in the staff domain, and every page that shows their
results writes an audit row (see ``app.staff.routes``).

The search takes any fragment a support engineer has at hand. A query that reads as a number is
matched, digits only, inside phone numbers, phone_number_ids, WABA ids and Meta app ids where those
columns live; any query is matched, folded (case and accents ignored), inside the names, template
names and wamids of ``staff_search_terms`` (``app.staff.terms`` keeps it), and against org slugs
and member emails. Each match is ranked (the whole value first, then a value that starts or ends
with the query, then one that contains it) and orgs come best match first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.audit.models import AuditEntry
from app.lib import phones
from app.meta.models import MetaApp
from app.staff.models import SearchTerm
from app.staff.text import Part, digits_of, fold, highlight
from app.tenancy.models import Membership, Organization, User
from app.wabas.models import PhoneNumber, Waba

MAX_QUERY = 200
MAX_HITS = 25
PER_SOURCE = 50
EXACT, EDGE, INSIDE = 0, 1, 2
# What matched, in words, most telling first (the order breaks ties between equal ranks).
KINDS = {
    "waba_id": "WABA id",
    "phone": "phone number",
    "phone_number_id": "phone number id",
    "wamid": "message id (wamid)",
    "app_id": "Meta app id",
    "org": "business name",
    "slug": "org slug",
    "email": "member email",
    "waba_name": "WABA name",
    "verified_name": "verified display name",
    "display_name": "requested display name",
    "template": "message template",
}
_ORDER = {kind: i for i, kind in enumerate(KINDS)}


@dataclass
class Match:
    kind: str
    text: str
    rank: int
    waba_pk: int | None
    parts: list[Part] = field(default_factory=list)

    @property
    def label(self) -> str:
        return KINDS[self.kind]

    @property
    def key(self) -> tuple[int, int]:
        return (self.rank, _ORDER[self.kind])


@dataclass
class OrgHit:
    org: Organization
    matches: list[Match] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, int]:
        return min(m.key for m in self.matches)

    @property
    def waba_pks(self) -> list[int]:
        """The WABAs that matched, best match first, each once."""
        seen: list[int] = []
        for m in sorted(self.matches, key=lambda m: m.key):
            if m.waba_pk is not None and m.waba_pk not in seen:
                seen.append(m.waba_pk)
        return seen


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _rank(value: str, query: str) -> int:
    if value == query:
        return EXACT
    return EDGE if value.startswith(query) or value.endswith(query) else INSIDE


def _contains(column: ColumnElement[Any] | InstrumentedAttribute[Any], query: str) -> ColumnElement[bool]:
    return column.like(f"%{_escape(query)}%", escape="\\")


async def _id_matches(session: AsyncSession, number: str) -> list[tuple[int, Match]]:
    """Digits inside phone numbers, phone_number_ids, WABA ids and app ids: (org id, match)."""
    found: list[tuple[int, Match]] = []
    numbers = await session.execute(
        select(PhoneNumber.org_id, PhoneNumber.waba_pk, PhoneNumber.digits, PhoneNumber.phone_number_id)
        .where(or_(_contains(PhoneNumber.digits, number), _contains(PhoneNumber.phone_number_id, number)))
        .order_by(func.length(PhoneNumber.digits))
        .limit(PER_SOURCE)
    )
    for org_id, waba_pk, digits, pnid in numbers:
        if digits and number in digits:
            found.append((org_id, Match("phone", phones.pretty(digits), _rank(digits, number), waba_pk)))
        if pnid and number in pnid:
            found.append((org_id, Match("phone_number_id", pnid, _rank(pnid, number), waba_pk)))
    wabas = await session.execute(
        select(Waba.org_id, Waba.id, Waba.waba_id)
        .where(_contains(Waba.waba_id, number))
        .order_by(func.length(Waba.waba_id))
        .limit(PER_SOURCE)
    )
    for org_id, waba_pk, waba_id in wabas:
        found.append((org_id, Match("waba_id", waba_id, _rank(waba_id, number), waba_pk)))
    waba_apps = await session.execute(
        select(Waba.org_id, Waba.id, MetaApp.app_id)
        .join(MetaApp, MetaApp.id == Waba.app_pk)
        .where(_contains(MetaApp.app_id, number))
        .limit(PER_SOURCE)
    )
    for org_id, waba_pk, app_id in waba_apps:
        found.append((org_id, Match("app_id", app_id, _rank(app_id, number), waba_pk)))
    org_apps = await session.execute(
        select(MetaApp.org_id, MetaApp.app_id)
        .where(MetaApp.org_id.is_not(None), _contains(MetaApp.app_id, number))
        .limit(PER_SOURCE)
    )
    for owner, app_id in org_apps:
        if owner is not None:
            found.append((owner, Match("app_id", app_id, _rank(app_id, number), None)))
    return found


async def _text_matches(session: AsyncSession, query: str, folded: str) -> list[tuple[int, Match]]:
    """Folded names, templates and wamids; org slugs and member emails."""
    found: list[tuple[int, Match]] = []
    # Under three characters a trigram index cannot help: only whole values match.
    where = SearchTerm.folded == folded if len(folded) < 3 else _contains(SearchTerm.folded, folded)
    terms = await session.execute(
        select(SearchTerm.org_id, SearchTerm.waba_pk, SearchTerm.kind, SearchTerm.text, SearchTerm.folded)
        .where(where)
        .order_by(func.length(SearchTerm.folded), SearchTerm.id.desc())
        .limit(PER_SOURCE * 4)
    )
    for org_id, waba_pk, kind, text, term in terms:
        found.append((org_id, Match(kind, text, _rank(term, folded), waba_pk)))
    lowered = query.lower()
    for org_id, slug in await session.execute(
        select(Organization.id, Organization.slug).where(Organization.slug == lowered)
    ):
        found.append((org_id, Match("slug", slug, EXACT, None)))
    if len(lowered) >= 3:
        members = await session.execute(
            select(Membership.org_id, User.email)
            .join(User, User.id == Membership.user_id)
            .where(_contains(func.lower(User.email), lowered))
            .limit(PER_SOURCE)
        )
        for org_id, email in members:
            found.append((org_id, Match("email", email, _rank(email.lower(), lowered), None)))
    return found


async def search(session: AsyncSession, text: str) -> list[OrgHit]:
    """Orgs matching ``text``, best match first, each with what matched (highlighted)."""
    q = text.strip()[:MAX_QUERY]
    folded = fold(q)
    if not folded:
        return []
    number = digits_of(q)
    found = await _text_matches(session, q, folded)
    if number is not None:
        found += await _id_matches(session, number)
    by_org: dict[int, list[Match]] = {}
    for org_id, match in found:
        same = by_org.setdefault(org_id, [])
        if not any(m.kind == match.kind and m.text == match.text for m in same):
            match.parts = highlight(match.text, folded=folded, digits=number)
            same.append(match)
    orgs = {o.id: o for o in await session.scalars(select(Organization).where(Organization.id.in_(by_org)))}
    hits = [OrgHit(orgs[oid], sorted(ms, key=lambda m: m.key)) for oid, ms in by_org.items() if oid in orgs]
    hits.sort(key=lambda h: (h.key, h.org.name.lower()))
    return hits[:MAX_HITS]


async def apps_of_org(session: AsyncSession, *, org_id: int) -> list[MetaApp]:
    return list(
        await session.scalars(select(MetaApp).where(MetaApp.org_id == org_id).order_by(MetaApp.app_id))
    )


@dataclass(frozen=True)
class AuditWhere:
    staff: str | None = None  # part of the staff member's email
    org_id: int | None = None


async def staff_audit(
    session: AsyncSession, *, where: AuditWhere, before_id: int | None = None, limit: int = 100
) -> list[tuple[AuditEntry, str | None]]:
    """Staff members' entries across all orgs, newest first, each with its org's slug (None for a
    search that matched nothing, which has no org)."""
    stmt = (
        select(AuditEntry, Organization.slug)
        .outerjoin(Organization, Organization.id == AuditEntry.org_id)
        .where(AuditEntry.actor_is_staff.is_(True))
    )
    if where.staff:
        stmt = stmt.where(_contains(func.lower(AuditEntry.actor_email), where.staff.lower()))
    if where.org_id is not None:
        stmt = stmt.where(AuditEntry.org_id == where.org_id)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    rows = await session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit))
    return [(entry, slug) for entry, slug in rows]
