"""The org's timeline (``/o/{org_slug}/events``), its exports, event detail and acknowledgement.

Filters come from ``app.events.filters`` (the same parameters for the page, the exports and the live
stream), checked against the org by ``queries.checked_filters``; a malformed value is a 400 that says
what is wrong, with the form showing what was typed. The form's pickers list the fields and kinds
the parser makes (``app.events.catalog``) and the org's WABAs and numbers
(``app.events.directory``). Pages are newest first, 50 rows, with a keyset "Older events" link
(``before=<cursor>``) that HTMX swaps in place and that also works as a
plain link. A text search reads a bounded number of events per page: when that runs out before
the page is full, the page says how far back it looked and its link searches on from there.
Exports stream every matching row oldest first (like ``wabawatch events``), read in
batches by keyset, so memory does not grow with the number of rows. They apply the page's default
too (account events unless ``all=1``): the file is named ``<org>-account-events.csv`` or
``<org>-events.csv`` accordingly, and ``X-Wabawatch-Filter`` says the whole filter in words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from app.events import catalog, queries
from app.events.acknowledge import AcknowledgeError, acknowledge
from app.events.directory import OrgChoices, org_directory
from app.events.downloads import csv_lines, json_chunks
from app.events.explanations import explain
from app.events.filters import PERIOD_WORDS, FilterError, Filters, parse_filters
from app.events.models import Event
from app.events.names import waba_names
from app.events.parsed import Severity
from app.events.views import events_url, row_view, timeline_url
from app.lib.timeutil import when
from app.tenancy.context import OrgContext, require_member
from app.tenancy.models import Role
from app.web.services import services
from app.web.templating import render
from app.webhooks import queries as webhooks_queries

PAGE_SIZE = 50
# Fields whose raw values carry people's messages: the detail page shows only their parsed details.
PRIVATE_FIELDS = catalog.MESSAGE_FIELDS
# What the filter form shows back after a refused value: exactly what was typed.
FORM_PARAMS = ("field", "kind", "severity", "waba", "phone", "since", "until", "last", "q", "open", "all")


def parse_filter(request: Request) -> tuple[Filters, queries.Cursor | None]:
    """The filters and cursor from the query string; ``FilterError`` says what is malformed."""
    filters = parse_filters(request.query_params, account_by_default=True)
    try:
        before = (
            queries.Cursor.decode(request.query_params["before"])
            if request.query_params.get("before")
            else None
        )
    except ValueError as exc:
        raise FilterError(
            "“before” is not a position this page made; start again from the newest events."
        ) from exc
    return filters, before


async def timeline(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        choices = await org_directory(request)(session, ctx.org_id)
        try:
            filters, before = parse_filter(request)
            filters = await queries.checked_filters(session, org_id=ctx.org_id, filters=filters)
        except FilterError as exc:
            typed = {name: request.query_params.get(name, "").strip() for name in FORM_PARAMS}
            # ``paged``: no live stream either, until the filter is corrected.
            context = _context(
                request, ctx, filters=Filters(), events=[], names={}, paged=True, error=str(exc)
            )
            context |= {"form": typed, "choices": choices, "looked_back_to": None}
            return render(request, "events/timeline.html", context, status_code=400)
        # Read before the rows: the page's live stream replays every event committed after this,
        # so nothing that lands between rendering the page and opening the stream is missed.
        live_after = await queries.latest_event_id(session, org_id=ctx.org_id)
        events, looked_back_to = await _page(session, ctx, filters, before)
        names = await waba_names(request)(session, org_id=ctx.org_id)
    older_url = None
    if len(events) > PAGE_SIZE:
        events = events[:PAGE_SIZE]
        cursor = queries.Cursor.of(events[-1]).encode()
        older_url = timeline_url(request, ctx.org.slug, filters, before=cursor)
    elif looked_back_to is not None:
        older_url = timeline_url(request, ctx.org.slug, filters, before=looked_back_to.encode())
    context = _context(
        request,
        ctx,
        filters=filters,
        events=events,
        names=names,
        older_url=older_url,
        paged=before is not None,
    )
    context |= {"live_after": live_after, "form": filters.params(), "choices": choices}
    context["looked_back_to"] = when(looked_back_to.occurred_at) if looked_back_to else None
    return render(request, "events/timeline.html", context, block="rows")


async def _page(
    session: AsyncSession, ctx: OrgContext, filters: Filters, before: queries.Cursor | None
) -> tuple[list[Event], queries.Cursor | None]:
    """Up to one row more than a page (so the page knows whether there are older ones), and, for a
    text search that read its whole budget first, where it stopped looking."""
    if filters.q:
        found = await queries.search_newest_first(
            session, org_id=ctx.org_id, where=filters, before=before, limit=PAGE_SIZE + 1
        )
        return found.events, found.looked_back_to
    events = await queries.newest_first(
        session, org_id=ctx.org_id, where=filters, before=before, limit=PAGE_SIZE + 1
    )
    return events, None


def _context(
    request: Request,
    ctx: OrgContext,
    *,
    filters: Filters,
    events: list[Event],
    names: Mapping[str, str],
    older_url: str | None = None,
    paged: bool = False,
    error: str | None = None,
) -> dict[str, Any]:
    query = urlencode(filters.params())
    return {
        "ctx": ctx,
        "events": [row_view(event, names) for event in events],
        "events_url": events_url(request, ctx),
        "older_url": older_url,
        "filters": filters,
        "where": filters,
        "paged": paged,
        "error": error,
        "severities": [s.label for s in Severity],
        "export_query": f"?{query}" if query else "",
        "account_fields": catalog.ACCOUNT_FIELDS,
        "message_fields": sorted(catalog.MESSAGE_FIELDS),
        "kinds": catalog.KINDS,
        "known_fields": catalog.FIELDS,
        "periods": PERIOD_WORDS,
        "words": catalog.words,
        "all_url": timeline_url(request, ctx.org.slug, replace(filters, account_only=False)),
        "account_url": timeline_url(request, ctx.org.slug, replace(filters, account_only=True)),
        "choices": OrgChoices(),
    }


async def detail(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        event = await queries.event_of_org(
            session, org_id=ctx.org_id, event_pk=request.path_params["event_pk"]
        )
        if event is None:
            raise HTTPException(404)
        source = await webhooks_queries.change_and_delivery(session, change_id=event.change_id)
        related = await queries.related_events(session, org_id=ctx.org_id, event=event)
        subject = queries.subject_of(event)
        acked_by = await queries.user_email(session, event.acknowledged_by_id)
        names = await waba_names(request)(session, org_id=ctx.org_id)
    change, delivery = source if source is not None else (None, None)
    raw = None
    if change is not None and event.field not in PRIVATE_FIELDS:
        raw = json.dumps(change.value, indent=2, ensure_ascii=False, sort_keys=True)
    context = {
        "ctx": ctx,
        "event": row_view(event, names),
        "details": json.dumps(event.details, indent=2, ensure_ascii=False, sort_keys=True),
        "explained": explain(event),
        "raw": raw,
        "private": event.field in PRIVATE_FIELDS,
        "change": change,
        "delivery": delivery,
        "related": [row_view(e, names) for e in related],
        "related_about": _subject_words(subject, event, names),
        "acked_by": acked_by,
    }
    return render(request, "events/detail.html", context)


def _subject_words(subject: queries.Subject, event: Event, names: Mapping[str, str]) -> str:
    """What "Related events" are about, for its heading."""
    if subject.kind.startswith("template:"):
        details = event.details if isinstance(event.details, dict) else {}
        name, language = details.get("template_name"), details.get("language")
        said = f"template “{name or subject.value}”"
        return f"{said} ({language})" if isinstance(language, str) and language else said
    if subject.kind == "phone":
        return str(row_view(event, names)["phone_text"])
    if subject.kind == "waba":
        name = names.get(subject.value)
        return f"WABA {name} ({subject.value})" if name else f"WABA {subject.value}"
    return ""


async def acknowledge_event(request: Request) -> Response:
    """HTMX: answers the acknowledgement fragment; a plain form post goes back to the detail page."""
    event_pk = request.path_params["event_pk"]
    async with services(request).db.transaction() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        try:
            event = await acknowledge(session, ctx, event_pk=event_pk)
        except AcknowledgeError as exc:
            return Response(str(exc), status_code=400, media_type="text/plain")
        if event is None:
            raise HTTPException(404)
        view = row_view(event, await waba_names(request)(session, org_id=ctx.org_id))
        acked_by = await queries.user_email(session, event.acknowledged_by_id)
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse(
            request.url_for("events:detail", org_slug=ctx.org.slug, event_pk=event_pk), 303
        )
    return render(request, "events/_ack.html", {"ctx": ctx, "event": view, "acked_by": acked_by})


async def _export_scope(request: Request) -> tuple[OrgContext, dict[str, str], Filters | str]:
    """The org, its WABAs' names and the filters, or the words saying why the filters are malformed."""
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        names = await waba_names(request)(session, org_id=ctx.org_id)
        try:
            filters = parse_filters(request.query_params, account_by_default=True)
            return ctx, names, await queries.checked_filters(session, org_id=ctx.org_id, filters=filters)
        except FilterError as exc:
            return ctx, names, str(exc)


def _download_headers(ctx: OrgContext, filters: Filters, extension: str) -> dict[str, str]:
    """The file's name says whether it holds account events or all of them; a header says the
    whole filter in words (ASCII: anything else is percent-encoded)."""
    scope = "account-events" if filters.account_only else "events"
    plain = filters.words().replace("“", '"').replace("”", '"')
    said = "".join(c if 32 <= ord(c) < 127 else quote(c) for c in plain)
    return {
        "Content-Disposition": f'attachment; filename="{ctx.org.slug}-{scope}.{extension}"',
        "X-Wabawatch-Filter": said,
    }


async def export_csv(request: Request) -> Response:
    ctx, names, filters = await _export_scope(request)
    if isinstance(filters, str):
        return PlainTextResponse(filters, status_code=400)
    body = csv_lines(services(request).db, org_id=ctx.org_id, filters=filters, names=names)
    headers = _download_headers(ctx, filters, "csv")
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


async def export_json(request: Request) -> Response:
    ctx, names, filters = await _export_scope(request)
    if isinstance(filters, str):
        return PlainTextResponse(filters, status_code=400)
    body = json_chunks(services(request).db, org_id=ctx.org_id, filters=filters, names=names)
    headers = _download_headers(ctx, filters, "json")
    return StreamingResponse(body, media_type="application/json", headers=headers)


routes = [
    Route("/o/{org_slug}/events", timeline, name="events:timeline"),
    Route("/o/{org_slug}/events.csv", export_csv, name="events:csv"),
    Route("/o/{org_slug}/events.json", export_json, name="events:json"),
    Route("/o/{org_slug}/events/{event_pk:id}", detail, name="events:detail"),
    Route("/o/{org_slug}/events/{event_pk:id}/ack", acknowledge_event, methods=["POST"], name="events:ack"),
]
