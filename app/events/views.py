"""How pages show events: the timeline's row (also rendered by the live stream and the WABA and
phone pages) and the timeline's URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from app.events.acknowledge import needs_acknowledgement
from app.events.downloads import event_json, iso
from app.events.filters import Filters
from app.events.models import Event
from app.lib import phones
from app.tenancy.context import OrgContext


def row_view(event: Event) -> dict[str, Any]:
    """What ``events/_row.html`` shows of an event (the exported fields plus state for the page);
    the live stream renders new rows with the same fragment and this same dict."""
    return {
        **event_json(event),
        "pk": event.id,
        "occurred_text": event.occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
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
