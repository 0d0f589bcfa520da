"""The org's home (its WABAs at a glance), a WABA's page and a phone number's page: current state
plus the newest events.

The WABA and number pages answer 404 for another org's WABA or number (and for a number asked for
under another WABA). The phone page charts the number's messaging-limit tier and quality events as
server-rendered SVG.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.events import queries
from app.events.filters import Filters
from app.events.views import events_url, row_view, timeline_url
from app.tenancy.context import require_member
from app.wabas import overview
from app.wabas import queries as wabas_queries
from app.wabas.chart import QUALITY_FIELDS, tier_chart
from app.wabas.setup import setup_of
from app.web.services import services
from app.web.templating import render

RECENT = 20


async def home(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        # Read before the cards: the page's live stream starts after this event, so a change that
        # lands between rendering and opening the stream still refreshes the cards.
        live_after = await queries.latest_event_id(session, org_id=ctx.org_id)
        cards = await overview.overview(session, org_id=ctx.org_id)
        setup = await setup_of(session, ctx, base_url=services(request).settings.base_url)
    context = {"ctx": ctx, "cards": cards, "live_after": live_after, "setup": setup}
    return render(request, "tenancy/home.html", context)


async def waba_detail(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        card = await overview.waba_card(session, org_id=ctx.org_id, waba_pk=request.path_params["waba_pk"])
        if card is None:
            raise HTTPException(404)
        filters = Filters(waba_id=card.waba.waba_id)
        live_after = await queries.latest_event_id(session, org_id=ctx.org_id)
        events = await queries.newest_first(
            session, org_id=ctx.org_id, where=filters, before=None, limit=RECENT
        )
    names = {card.waba.waba_id: card.waba.name}
    context: dict[str, Any] = {
        "ctx": ctx,
        "card": card,
        "events": [row_view(e, names) for e in events],
        "events_url": events_url(request, ctx),
        "timeline_url": timeline_url(request, ctx.org.slug, filters),
        "live_filters": filters,
        "live_after": live_after,
    }
    return render(request, "wabas/detail.html", context)


async def phone_detail(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session)
        card = await overview.waba_card(session, org_id=ctx.org_id, waba_pk=request.path_params["waba_pk"])
        phone = (
            next((p for p in card.phones if p.phone.id == request.path_params["phone_pk"]), None)
            if card
            else None
        )
        if card is None or phone is None:
            raise HTTPException(404)
        digits = phone.phone.digits
        live_after = await queries.latest_event_id(session, org_id=ctx.org_id)
        events, history = [], []
        if digits:
            filters = Filters(phone=digits)
            events = await queries.newest_first(
                session, org_id=ctx.org_id, where=filters, before=None, limit=RECENT
            )
            history = await queries.history_of_phone(
                session, org_id=ctx.org_id, phone=digits, fields=QUALITY_FIELDS
            )
        # A number's events may come from another WABA of the org (one it moved from): name them all.
        names = await wabas_queries.waba_names(session, org_id=ctx.org_id) if events else {}
    context: dict[str, Any] = {
        "ctx": ctx,
        "card": card,
        "phone": phone,
        "events": [row_view(e, names) for e in events],
        "events_url": events_url(request, ctx),
        "chart": tier_chart(history),
        "timeline_url": timeline_url(request, ctx.org.slug, Filters(phone=digits)) if digits else None,
        # Without a known number the page cannot tell its events apart: it listens to none.
        "live_filters": Filters(phone=digits) if digits else None,
        "live_after": live_after,
    }
    return render(request, "wabas/phone.html", context)


routes = [
    Route("/o/{org_slug}", home, name="tenancy:home"),
    Route("/o/{org_slug}/wabas/{waba_pk:id}", waba_detail, name="wabas:detail"),
    Route("/o/{org_slug}/wabas/{waba_pk:id}/phones/{phone_pk:id}", phone_detail, name="wabas:phone"),
]
