"""The support console under /staff: search across orgs, then reason-gated read-only org views.

Every handler starts with ``require_staff`` (404 for anyone else). Views of an org write an audit
row in that org in the same transaction that reads it, so a view is never shown unlogged.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.audit import service as audit
from app.events import queries as events_queries
from app.events.downloads import event_json
from app.events.filters import FilterError, parse_filters
from app.events.models import Event
from app.lib import phones
from app.staff import access, inspector_routes, queries
from app.staff.access import ReasonRequired, StaffOrgAccess
from app.web.forms import form_fields
from app.web.services import services
from app.web.templating import render

PAGE_SIZE = 50


def _to_reason_form(request: Request, exc: ReasonRequired) -> Response:
    target = request.url_for("staff:open", org_slug=exc.org.slug).include_query_params(next=request.url.path)
    return RedirectResponse(str(target), 303)


async def _viewed(session: AsyncSession, grant: StaffOrgAccess, view: str, **details: object) -> None:
    await audit.record(
        session,
        org_id=grant.org_id,
        actor=grant.user,
        action=audit.STAFF_VIEWED,
        target=view,
        details={"reason": grant.reason, **details},
    )


async def search(request: Request) -> Response:
    q = request.query_params.get("q", "").strip()[: queries.MAX_QUERY]
    async with services(request).db.transaction() as session:
        user = await access.require_staff(request, session)
        hits = await queries.search(session, q) if q else []
        if q:
            # One row without an org (the search itself) and one in each org it showed.
            details = {"q": q, "hits": len(hits)}
            await audit.record(session, org_id=None, actor=user, action=audit.STAFF_SEARCHED, details=details)
            for hit in hits:
                await audit.record(
                    session, org_id=hit.org.id, actor=user, action=audit.STAFF_SEARCHED, details=details
                )
    return render(request, "staff/search.html", {"q": q, "hits": hits, "pretty": phones.pretty})


async def open_org(request: Request) -> Response:
    """GET asks for the reason; POST records it (audit) and opens the org for an hour."""
    error = None
    next_url = request.query_params.get("next", "")
    async with services(request).db.transaction() as session:
        user, org = await access.staff_org(request, session)
        if request.method == "POST":
            form = await form_fields(request)
            next_url = form.get("next", "")
            try:
                reason = access.clean_reason(form.get("reason", ""))
            except ValueError as exc:
                error = str(exc)
            else:
                await audit.record(
                    session, org_id=org.id, actor=user, action=audit.STAFF_OPENED, details={"reason": reason}
                )
                access.grant(request, org, reason)
                home = str(request.url_for("staff:org", org_slug=org.slug))
                # Only pages of this org under /staff: never an open redirect.
                allowed = (
                    next_url.startswith(
                        (request.url_for("staff:org", org_slug=org.slug).path, "/staff/apps/")
                    )
                    and "//" not in next_url
                )
                return RedirectResponse(next_url if allowed else home, 303)
    context = {"org": org, "error": error, "next": next_url, "reason": access.granted_reason(request, org)}
    return render(request, "staff/open.html", context, status_code=400 if error else 200)


async def org_overview(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        try:
            grant = await access.require_org_access(request, session)
        except ReasonRequired as exc:
            return _to_reason_form(request, exc)
        wabas = await queries.wabas_of_org(session, org_id=grant.org_id)
        apps = await queries.apps_of_org(session, org_id=grant.org_id)
        await _viewed(session, grant, "overview")
    return render(
        request, "staff/org.html", {"grant": grant, "wabas": wabas, "apps": apps, "pretty": phones.pretty}
    )


def _row(event: Event) -> dict[str, Any]:
    return {
        **event_json(event),
        "pk": event.id,
        "occurred_text": event.occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "phone_text": phones.pretty(event.phone) if event.phone else "",
    }


async def org_events(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        try:
            grant = await access.require_org_access(request, session)
        except ReasonRequired as exc:
            return _to_reason_form(request, exc)
        try:
            filters = parse_filters(request.query_params)
        except FilterError as exc:
            context = {"grant": grant, "events": [], "error": str(exc), "params": {}, "older_url": None}
            return render(request, "staff/events.html", context, status_code=400)
        stmt = events_queries.scoped_events(org_id=grant.org_id, where=filters)
        before = request.query_params.get("before", "")
        if before.isdigit():
            stmt = stmt.where(Event.id < int(before))
        stmt = stmt.order_by(Event.id.desc()).limit(PAGE_SIZE + 1)
        events = list(await session.scalars(stmt))
        await _viewed(session, grant, "events", filters=urlencode(filters.params()))
    older_url = None
    if len(events) > PAGE_SIZE:
        events = events[:PAGE_SIZE]
        older_url = "?" + urlencode({**filters.params(), "before": events[-1].id})
    context = {
        "grant": grant,
        "events": [_row(e) for e in events],
        "error": None,
        "params": filters.params(),
        "older_url": older_url,
    }
    return render(request, "staff/events.html", context)


async def org_event(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        try:
            grant = await access.require_org_access(request, session)
        except ReasonRequired as exc:
            return _to_reason_form(request, exc)
        event = await events_queries.event_of_org(
            session, org_id=grant.org_id, event_pk=request.path_params["event_pk"]
        )
        if event is None:
            raise HTTPException(404)
        await _viewed(session, grant, f"event {event.id}")
    details = json.dumps(event.details, indent=2, ensure_ascii=False, sort_keys=True)
    return render(request, "staff/event.html", {"grant": grant, "event": _row(event), "details": details})


routes = [
    Route("/staff", search, name="staff:search"),
    Route("/staff/orgs/{org_slug}/open", open_org, methods=["GET", "POST"], name="staff:open"),
    Route("/staff/orgs/{org_slug}", org_overview, name="staff:org"),
    Route("/staff/orgs/{org_slug}/events", org_events, name="staff:events"),
    Route("/staff/orgs/{org_slug}/events/{event_pk:id}", org_event, name="staff:event"),
    *inspector_routes.routes,
]
