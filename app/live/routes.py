"""``GET /o/{org_slug}/events/stream``: the org's server-sent events, with the timeline's filters.

The filters are parsed and checked by the timeline's own code (``app.events.filters``,
``app.events.queries.checked_filters``), so a stream shows exactly what its page shows. ``Last-Event-ID`` (or ``?last_event_id=`` when opened
by hand) replays what was missed before going live.
"""

from __future__ import annotations

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app.events import queries as events_queries
from app.events.filters import FilterError, parse_filters
from app.live.hub import hub_for
from app.live.stream import StreamRequest, messages
from app.tenancy.context import require_member
from app.web.services import services

PING_SECONDS = 15
SEND_TIMEOUT_SECONDS = 30


def last_event_id(request: Request) -> int | None:
    """The header a reconnecting client sends, else the query parameter; anything but a
    non-negative integer counts as absent (the stream then starts from now)."""
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id") or ""
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


async def events_stream(request: Request) -> Response:
    db = services(request).db
    async with db.read() as session:
        ctx = await require_member(request, session)
        try:
            where = parse_filters(request.query_params, account_by_default=True)
            where = await events_queries.checked_filters(session, org_id=ctx.org_id, filters=where)
        except FilterError as exc:
            return PlainTextResponse(str(exc), status_code=400)
    spec = StreamRequest(request=request, ctx=ctx, where=where, last_event_id=last_event_id(request))
    return EventSourceResponse(
        messages(db, hub_for(db), spec),
        ping=PING_SECONDS,
        send_timeout=SEND_TIMEOUT_SECONDS,
        headers={"Cache-Control": "no-store"},
    )


routes = [
    Route("/o/{org_slug}/events/stream", events_stream, name="live:events_stream"),
]
