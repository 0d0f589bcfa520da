"""How pages show events: the timeline's row (also rendered by the live stream and the WABA and
phone pages) and the timeline's URLs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from app.events.acknowledge import needs_acknowledgement
from app.events.downloads import iso, named_event_json
from app.events.filters import Filters
from app.events.models import Event
from app.events.names import waba_label
from app.lib import phones
from app.lib.timeutil import when
from app.tenancy.context import OrgContext


def row_view(event: Event, names: Mapping[str, str]) -> dict[str, Any]:
    """What ``events/_row.html`` shows of an event (the exported fields plus state for the page);
    the live stream renders new rows with the same fragment and this same dict. ``names``: WABA id
    -> name (``app.events.names``), so that every row says which WABA."""
    return {
        **named_event_json(event, names),
        "pk": event.id,
        "waba_text": waba_label(names, event.waba_id),
        "occurred_text": when(event.occurred_at),
        "phone_text": phones.pretty(event.phone) if event.phone else "",
        "needs_ack": needs_acknowledgement(event),
        "acknowledged_at": iso(event.acknowledged_at) if event.acknowledged_at else None,
    }


def events_url(request: Request, ctx: OrgContext) -> str:
    """The timeline's URL, which rows extend with an event id (see ``events/_row.html``)."""
    return str(request.url_for("events:timeline", org_slug=ctx.org.slug))


def timeline_url(request: Request, org_slug: str, filters: Filters, **extra: str) -> str:
    query = urlencode({**filters.params(), **extra})
    base = str(request.url_for("events:timeline", org_slug=org_slug).path)
    return f"{base}?{query}" if query else base
