"""The staff audit across all orgs (``/staff/audit``): who opened which org, when, why, and what
they looked at or did, filterable by staff member and org, and exportable as CSV.

The CSV is opened in spreadsheets, and its cells hold text staff and customers typed (reasons,
searches, org names): a cell that a spreadsheet would read as a formula is written with a leading
apostrophe, so it shows as the text it is.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.lib import words
from app.lib.timeutil import when
from app.staff import access, queries
from app.tenancy import queries as tenancy_queries
from app.web.services import services
from app.web.templating import render

PAGE = 200
EXPORT_LIMIT = 50_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    staff: str
    org: str
    what: str
    reason: str
    opened_for: str

    def cells(self) -> list[str]:
        return [
            when(self.at),
            self.staff,
            self.org,
            self.what,
            self.reason,
            self.opened_for,
        ]


HEADER = ["time", "staff member", "org", "what", "reason", "org opened for"]


def describe(entry: AuditEntry) -> str:
    """The action in words."""
    target = entry.target or ""
    if entry.action == audit.STAFF_OPENED:
        return "opened the org"
    if entry.action == audit.STAFF_VIEWED:
        return f"viewed {target}" if target else "viewed the org"
    if entry.action == audit.STAFF_SEARCHED:
        hits = entry.details.get("hits")
        found = "1 org" if hits == 1 else f"{words.plain(hits)} orgs"
        return f"searched for “{words.plain(entry.details.get('q'))}” ({found} found)"
    if entry.action == audit.SIGNED_IN:
        return "signed in"
    if entry.action == audit.DELIVERY_REPROCESSED:
        return f"reprocessed {target}"
    if entry.action == access.ALERT_RETRIED:
        return f"retried {target}"
    return f"{entry.action} {target}".strip()


def _row(entry: AuditEntry, slug: str | None) -> AuditRow:
    details = entry.details or {}
    return AuditRow(
        id=entry.id,
        at=entry.created_at,
        staff=entry.actor_email,
        org=slug or "—",
        what=describe(entry),
        reason=str(details.get("reason") or ""),
        opened_for=str(details.get("opened_for") or ""),
    )


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


async def _where(request: Request) -> tuple[queries.AuditWhere, str | None, dict[str, str]]:
    """The filters, the words saying why the org filter matches nothing (or None), the form's values."""
    staff = request.query_params.get("staff", "").strip()[:320]
    slug = request.query_params.get("org", "").strip().lower()[:64]
    values = {"staff": staff, "org": slug}
    if not slug:
        return queries.AuditWhere(staff=staff or None), None, values
    async with services(request).db.read() as session:
        org = await tenancy_queries.org_by_slug(session, slug)
    if org is None:
        return queries.AuditWhere(staff=staff or None), f"No org has the slug “{slug}”.", values
    return queries.AuditWhere(staff=staff or None, org_id=org.id), None, values


async def staff_audit(request: Request) -> Response:
    where, error, values = await _where(request)
    before = request.query_params.get("before", "")
    async with services(request).db.transaction() as session:
        user = await access.require_staff(request, session)
        found = (
            []
            if error
            else await queries.staff_audit(
                session, where=where, before_id=int(before) if before.isdigit() else None, limit=PAGE + 1
            )
        )
        await audit.record(session, org_id=None, actor=user, action=audit.STAFF_VIEWED, target="staff audit")
    rows = [_row(entry, slug) for entry, slug in found[:PAGE]]
    older = None
    if len(found) > PAGE:
        older = {**{k: v for k, v in values.items() if v}, "before": str(rows[-1].id)}
    context = {"rows": rows, "values": values, "error": error, "older": older}
    return render(request, "staff/audit.html", context, status_code=400 if error else 200)


async def staff_audit_csv(request: Request) -> Response:
    where, error, _values = await _where(request)
    async with services(request).db.transaction() as session:
        user = await access.require_staff(request, session)
        found = [] if error else await queries.staff_audit(session, where=where, limit=EXPORT_LIMIT)
        await audit.record(
            session, org_id=None, actor=user, action=audit.STAFF_VIEWED, target="staff audit CSV"
        )
    if error:
        return Response(error, status_code=400, media_type="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for entry, slug in found:
        writer.writerow([safe_cell(cell) for cell in _row(entry, slug).cells()])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="staff-audit.csv"'},
    )


routes = [
    Route("/staff/audit", staff_audit, name="staff:audit"),
    Route("/staff/audit.csv", staff_audit_csv, name="staff:audit_csv"),
]
