"""The org's timeline page, ``/o/{org_slug}/events``: newest first, 50 per page, keyset "older" link.

Filters accepted so far: ``waba`` (WABA id) and ``severity`` (minimum: info, warning, critical).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.events import timeline_queries as queries
from app.events.export import event_json
from app.events.models import Event
from app.events.parsed import Severity
from app.lib import phones
from app.tenancy.context import OrgContext, require_member
from app.web.services import services
from app.web.templating import render

PAGE_SIZE = 50


def parse_filter(request: Request) -> tuple[queries.EventFilter, queries.Cursor | None]:
    """The filter and cursor from the query string; ValueError says in words what is malformed."""
    params = request.query_params
    severity = Severity.from_label(params["severity"]) if params.get("severity") else None
    before = queries.Cursor.decode(params["before"]) if params.get("before") else None
    waba = params.get("waba", "").strip() or None
    return queries.EventFilter(waba_id=waba, min_severity=severity), before


def filter_params(where: queries.EventFilter) -> dict[str, str]:
    params: dict[str, str] = {}
    if where.waba_id:
        params["waba"] = where.waba_id
    if where.min_severity is not None:
        params["severity"] = where.min_severity.label
    return params


def row_view(event: Event) -> dict[str, Any]:
    """The exported fields plus a readable time; the template escapes every value."""
    return {
        **event_json(event),
        "occurred_text": event.occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "phone_text": phones.pretty(event.phone) if event.phone else "",
    }


async def timeline(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        try:
            where, before = parse_filter(request)
        except ValueError as exc:
            context = _context(ctx, where=queries.EventFilter(), events=[], error=str(exc))
            return render(request, "events/timeline.html", context, status_code=400)
        events = await queries.newest_first(
            session, org_id=ctx.org_id, where=where, before=before, limit=PAGE_SIZE + 1
        )
    older_url = None
    if len(events) > PAGE_SIZE:
        events = events[:PAGE_SIZE]
        query = urlencode({**filter_params(where), "before": queries.Cursor.of(events[-1]).encode()})
        older_url = f"{request.url_for('events:timeline', org_slug=ctx.org.slug)}?{query}"
    context = _context(ctx, where=where, events=events, older_url=older_url, paged=before is not None)
    return render(request, "events/timeline.html", context, block="rows")


def _context(
    ctx: OrgContext,
    *,
    where: queries.EventFilter,
    events: list[Event],
    older_url: str | None = None,
    paged: bool = False,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "ctx": ctx,
        "events": [row_view(event) for event in events],
        "older_url": older_url,
        "where": where,
        "paged": paged,
        "error": error,
        "severities": [s.label for s in Severity],
    }


routes = [
    Route("/o/{org_slug}/events", timeline, name="events:timeline"),
]
