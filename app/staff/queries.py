"""Cross-tenant reads. They exist only in the staff domain, and every page that shows their
results writes an audit row (see ``app.staff.routes``).

The search takes any fragment a support engineer has at hand. Any query is matched, folded (case
and accents ignored), inside the names, ids, template names and wamids of ``staff_search_terms``
(``app.staff.terms`` keeps it); a query that reads as a number is matched on its digits alone
there too (phone numbers, phone_number_ids, WABA ids) and inside Meta app ids; and any query is
matched against org slugs and member emails. Each match is ranked (the whole value first, then a value that starts or ends
with the query, then one that contains it) and orgs come best match first.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from app.wabas.models import Waba

MAX_QUERY = 200
MAX_HITS = 25
PER_SOURCE = 50
EXACT_FIRST = 20  # queries this long are looked up whole before any search inside terms
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


async def _app_matches(session: AsyncSession, number: str) -> list[tuple[int, Match]]:
    """Digits inside Meta app ids (a small table): the WABAs reached through the app, and the org
    that owns it."""
    found: list[tuple[int, Match]] = []
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


def _term_rank(term: str, folded: str, number: str | None) -> int:
    ranks = [_rank(term, folded)] if folded in term else []
    if number and number in term:
        ranks.append(_rank(term, number))
    return min(ranks, default=INSIDE)


async def _term_matches(session: AsyncSession, folded: str, number: str | None) -> list[tuple[int, Match]]:
    """The folded query, and a number's digits, inside the indexed terms. A long query (a pasted
    wamid) is looked up whole first: only when nothing is equal to it is it searched inside terms."""
    columns = select(
        SearchTerm.org_id, SearchTerm.waba_pk, SearchTerm.kind, SearchTerm.text, SearchTerm.folded
    )
    rows: Sequence[Any] = []
    if len(folded) >= EXACT_FIRST:
        rows = (await session.execute(columns.where(SearchTerm.folded == folded).limit(PER_SOURCE))).all()
    if not rows:
        # Under three characters a trigram index cannot help: only whole values match.
        wanted = [SearchTerm.folded == folded if len(folded) < 3 else _contains(SearchTerm.folded, folded)]
        if number is not None and number != folded:
            wanted.append(_contains(SearchTerm.folded, number))
        stmt = columns.where(or_(*wanted)).order_by(func.length(SearchTerm.folded), SearchTerm.id.desc())
        rows = (await session.execute(stmt.limit(PER_SOURCE * 4))).all()
    found = []
    for org_id, waba_pk, kind, text, term in rows:
        shown = phones.pretty(text) if kind == "phone" else text
        found.append((org_id, Match(kind, shown, _term_rank(term, folded, number), waba_pk)))
    return found


async def _text_matches(session: AsyncSession, query: str) -> list[tuple[int, Match]]:
    """Org slugs (whole) and member emails (any part)."""
    found: list[tuple[int, Match]] = []
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
    found = await _term_matches(session, folded, number) + await _text_matches(session, q)
    if number is not None:
        found += await _app_matches(session, number)
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
