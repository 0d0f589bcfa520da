"""The org's audit log, ``/o/{org_slug}/audit`` (owners and admins), and its CSV export.

Filters are query parameters: ``action`` (exact, or a prefix ending in "."), ``actor`` (part of an
email), ``since`` and ``until`` (ISO 8601 dates or instants; ``until`` is exclusive).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.audit import queries
from app.audit.models import AuditEntry
from app.lib.timeutil import parse_iso8601
from app.tenancy.context import require_member
from app.tenancy.models import Role
from app.web.services import services
from app.web.templating import render

PAGE_SIZE = 100
EXPORT_BATCH = 1000
CSV_COLUMNS = ("id", "created_at", "actor_email", "actor_is_staff", "action", "target", "details")


def parse_filter(request: Request) -> queries.AuditFilter:
    """ValueError says in words which value is malformed."""
    params = request.query_params

    def when(name: str) -> datetime | None:
        raw = params.get(name, "").strip()
        if not raw:
            return None
        try:
            value = parse_iso8601(raw)
        except ValueError as exc:
            raise ValueError(f"{name} must be an ISO 8601 date or time, such as 2026-11-25.") from exc
        # A bare date as ``until`` means "through that day".
        return value + timedelta(days=1) if name == "until" and len(raw) == 10 else value

    since, until = when("since"), when("until")
    return queries.AuditFilter(
        action=params.get("action", "").strip()[:64] or None,
        actor=params.get("actor", "").strip()[:320] or None,
        since=since,
        until=until,
    )


def _params(request: Request) -> dict[str, str]:
    keys = ("action", "actor", "since", "until")
    return {k: request.query_params[k] for k in keys if request.query_params.get(k)}


async def audit_log(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        error = None
        try:
            where = parse_filter(request)
            before = request.query_params.get("before", "")
            before_id = int(before) if before.isdigit() else None
        except ValueError as exc:
            where, before_id, error = queries.AuditFilter(), None, str(exc)
        rows = (
            []
            if error
            else await queries.entries(
                session, org_id=ctx.org_id, where=where, before_id=before_id, limit=PAGE_SIZE + 1
            )
        )
        actions = await queries.actions_of_org(session, org_id=ctx.org_id)
    older_url = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        older_url = "?" + urlencode({**_params(request), "before": rows[-1].id})
    query = urlencode(_params(request))
    context = {
        "ctx": ctx,
        "entries": rows,
        "actions": actions,
        "params": _params(request),
        "error": error,
        "older_url": older_url,
        "csv_url": str(request.url_for("audit:csv", org_slug=ctx.org.slug)) + (f"?{query}" if query else ""),
    }
    return render(request, "audit/log.html", context, status_code=400 if error else 200)


def csv_line(entry: AuditEntry) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    details = "; ".join(f"{k}={v}" for k, v in sorted(entry.details.items()))
    cells = [
        entry.id,
        entry.created_at.isoformat(),
        entry.actor_email,
        "yes" if entry.actor_is_staff else "no",
        entry.action,
        entry.target,
        details,
    ]
    # A cell starting with = + - @ is a formula in spreadsheets: quote it as text.
    writer.writerow(["'" + c if isinstance(c, str) and c[:1] in "=+-@\t\r" else c for c in cells])
    return out.getvalue()


async def audit_csv(request: Request) -> Response:
    db = services(request).db
    async with db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        try:
            where = parse_filter(request)
        except ValueError as exc:
            return Response(str(exc), status_code=400, media_type="text/plain")
    org_id = ctx.org_id

    async def lines() -> AsyncIterator[str]:
        yield ",".join(CSV_COLUMNS) + "\r\n"
        before_id: int | None = None
        while True:
            async with db.read() as session:
                batch = await queries.entries(
                    session, org_id=org_id, where=where, before_id=before_id, limit=EXPORT_BATCH
                )
            for entry in batch:
                yield csv_line(entry)
            if len(batch) < EXPORT_BATCH:
                return
            before_id = batch[-1].id

    filename = f"audit-{ctx.org.slug}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


routes = [
    Route("/o/{org_slug}/audit", audit_log, name="audit:log"),
    Route("/o/{org_slug}/audit.csv", audit_csv, name="audit:csv"),
]
