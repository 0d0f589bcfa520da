"""An opened org's timeline, events, and alert delivery log, as its members see them, read-only.

The timeline takes the customer's filters (``app.events.filters``) and is live (``app.staff.live``).
An event shows what it means, the raw change from Meta, the delivery that carried it (its whole body
one click away in the staff inspector) and the alert deliveries it caused. Retrying a failed alert
is the one change here: it asks for its own reason (``access.action_reason``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from app.alerts import queries as alerts_queries
from app.alerts import service as alerts_service
from app.alerts.models import AlertDelivery
from app.audit import service as audit
from app.events import queries as events_queries
from app.events.explanations import explain
from app.events.filters import FilterError, Filters, parse_filters
from app.events.models import Event
from app.events.parsed import Severity
from app.events.views import row_view
from app.live.hub import hub_for
from app.meta import queries as meta_queries
from app.staff import access
from app.staff.access import ActionRefused, ReasonRequired, StaffOrgAccess
from app.staff.live import messages
from app.wabas import queries as wabas_queries
from app.web import toasts
from app.web.forms import form_fields
from app.web.services import services
from app.web.templating import render, templates
from app.webhooks import queries as webhooks_queries

PAGE_SIZE = 50
# The customer's event page keeps these fields' raw values (people's messages) out of sight; so does staff's.
PRIVATE_FIELDS = frozenset({"messages", "smb_message_echoes", "history", "smb_app_state_sync"})
NOT_STAFF = {"can_admin": False}  # what the customer's row macro needs to know: no acknowledge button


async def _grant(request: Request, session: AsyncSession) -> StaffOrgAccess:
    return await access.require_org_access(request, session)


def _cursor(request: Request) -> events_queries.Cursor | None:
    raw = request.query_params.get("before", "")
    try:
        return events_queries.Cursor.decode(raw) if raw else None
    except ValueError as exc:
        raise FilterError(
            "“before” is not a position this page made; start again from the newest events."
        ) from exc


async def org_events(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        try:
            grant = await _grant(request, session)
        except ReasonRequired as exc:
            return access.to_reason_form(request, exc)
        events_url = str(request.url_for("staff:events", org_slug=grant.org.slug).path)
        try:
            filters, before = parse_filters(request.query_params), _cursor(request)
        except FilterError as exc:
            context = _context(grant, Filters(), [], events_url, error=str(exc))
            return render(request, "staff/events.html", context, status_code=400)
        live_after = await events_queries.latest_event_id(session, org_id=grant.org_id)
        looked_back_to = None
        if filters.q:
            found = await events_queries.search_newest_first(
                session, org_id=grant.org_id, where=filters, before=before, limit=PAGE_SIZE + 1
            )
            events, looked_back_to = found.events, found.looked_back_to
        else:
            events = await events_queries.newest_first(
                session, org_id=grant.org_id, where=filters, before=before, limit=PAGE_SIZE + 1
            )
        names = await wabas_queries.waba_names(session, org_id=grant.org_id)
        await access.viewed(session, grant, "events", filters=urlencode(filters.params()))
    older = None
    if len(events) > PAGE_SIZE:
        events = events[:PAGE_SIZE]
        older = events_queries.Cursor.of(events[-1])
    elif looked_back_to is not None:
        older = looked_back_to
    context = _context(grant, filters, events, events_url, names=names, paged=before is not None)
    context["live_after"] = live_after
    if older is not None:
        context["older_url"] = events_url + "?" + urlencode({**filters.params(), "before": older.encode()})
    return render(request, "staff/events.html", context, block="rows")


def _context(
    grant: StaffOrgAccess,
    filters: Filters,
    events: list[Event],
    events_url: str,
    *,
    names: Mapping[str, str] | None = None,
    paged: bool = False,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "grant": grant,
        "ctx": NOT_STAFF,
        "events": [row_view(e, names or {}) for e in events],
        "events_url": events_url,
        "filters": filters,
        "severities": [s.label for s in Severity],
        "older_url": None,
        "paged": paged,
        "error": error,
    }


async def events_stream(request: Request) -> Response:
    db = services(request).db
    async with db.read() as session:
        grant = await _grant_or_404(request, session)
    try:
        where = parse_filters(request.query_params)
    except FilterError as exc:
        return PlainTextResponse(str(exc), status_code=400)
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id") or ""
    last_id = int(raw) if raw.strip().isdigit() and len(raw.strip()) <= 18 else None
    events_url = str(request.url_for("staff:events", org_slug=grant.org.slug).path)
    macro = templates.env.get_template("events/_macros.html").module.row  # type: ignore[attr-defined]

    def row(event: Event, names: Mapping[str, str]) -> str:
        return str(macro(row_view(event, names), NOT_STAFF, events_url, ""))

    body = messages(db, hub_for(db), org_id=grant.org_id, where=where, last_event_id=last_id, render=row)
    return EventSourceResponse(body, ping=15, send_timeout=30, headers={"Cache-Control": "no-store"})


async def _grant_or_404(request: Request, session: AsyncSession) -> StaffOrgAccess:
    try:
        return await _grant(request, session)
    except ReasonRequired as exc:
        raise HTTPException(404) from exc


async def org_event(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        try:
            grant = await _grant(request, session)
        except ReasonRequired as exc:
            return access.to_reason_form(request, exc)
        event = await events_queries.event_of_org(
            session, org_id=grant.org_id, event_pk=request.path_params["event_pk"]
        )
        if event is None:
            raise HTTPException(404)
        source = await webhooks_queries.change_and_delivery(session, change_id=event.change_id)
        app = await meta_queries.app_by_pk(session, event.app_pk)
        caused = list(
            await session.scalars(
                alerts_queries.deliveries_stmt(org_id=grant.org_id, limit=50).where(
                    AlertDelivery.event_id == event.id
                )
            )
        )
        channels = {c.id: c for c in await alerts_queries.channels(session, org_id=grant.org_id)}
        names = await wabas_queries.waba_names(session, org_id=grant.org_id)
        await access.viewed(session, grant, f"event {event.id}")
    change, delivery = source if source is not None else (None, None)
    private = event.field in PRIVATE_FIELDS
    context = {
        "grant": grant,
        "event": row_view(event, names),
        "explained": explain(event),
        "details": json.dumps(event.details, indent=2, ensure_ascii=False, sort_keys=True),
        "raw": None
        if change is None or private
        else json.dumps(change.value, indent=2, ensure_ascii=False, sort_keys=True),
        "private": private,
        "change": change,
        "delivery": delivery,
        "app": app,
        "caused": caused,
        "channels": channels,
    }
    return render(request, "staff/event.html", context)


async def org_alerts(request: Request) -> Response:
    """The org's alert delivery log: what was sent where, when, and what failed ("we never got the email")."""
    status = request.query_params.get("status", "") or None
    async with services(request).db.transaction() as session:
        try:
            grant = await _grant(request, session)
        except ReasonRequired as exc:
            return access.to_reason_form(request, exc)
        rows = await alerts_queries.deliveries(session, org_id=grant.org_id, status=status)
        channels = {c.id: c for c in await alerts_queries.channels(session, org_id=grant.org_id)}
        await access.viewed(session, grant, "alert deliveries")
    context = {"grant": grant, "rows": rows, "channels": channels, "status": status or ""}
    return render(request, "staff/alerts.html", context)


async def retry_alert(request: Request) -> Response:
    delivery_id: int = request.path_params["delivery_id"]
    form = await form_fields(request)
    async with services(request).db.transaction() as session:
        grant = await _grant_or_404(request, session)
        back = RedirectResponse(request.url_for("staff:alerts", org_slug=grant.org.slug), 303)
        try:
            reason = access.action_reason(form)
            await alerts_service.requeue_failed(session, org_id=grant.org_id, delivery_id=delivery_id)
        except alerts_service.NotFound as exc:
            raise HTTPException(404) from exc
        except (ActionRefused, alerts_service.AlertsError) as exc:
            toasts.add(request, str(exc), "error")
            return back
        await audit.record(
            session,
            org_id=grant.org_id,
            actor=grant.user,
            action=access.ALERT_RETRIED,
            target=f"alert delivery {delivery_id}",
            details={"reason": reason, "opened_for": grant.reason},
        )
    toasts.add(request, f"Alert delivery {delivery_id} is queued again.", "success")
    return back


routes = [
    Route("/staff/orgs/{org_slug}/events", org_events, name="staff:events"),
    Route("/staff/orgs/{org_slug}/events/stream", events_stream, name="staff:events_stream"),
    Route("/staff/orgs/{org_slug}/events/{event_pk:id}", org_event, name="staff:event"),
    Route("/staff/orgs/{org_slug}/alerts", org_alerts, name="staff:alerts"),
    Route(
        "/staff/orgs/{org_slug}/alerts/{delivery_id:id}/retry",
        retry_alert,
        methods=["POST"],
        name="staff:retry_alert",
    ),
]
