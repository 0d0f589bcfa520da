"""The support console under /staff: search across orgs, then reason-gated read-only org views.

Every handler starts with ``require_staff`` (404 for anyone else). Views of an org write an audit
row in that org in the same transaction that reads it, so a view is never shown unlogged.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.audit import service as audit
from app.staff import access, audit_routes, event_routes, inspector_routes, pages, queries, terms, views
from app.staff.access import ReasonRequired
from app.wabas import overview
from app.web.forms import form_fields
from app.web.services import services
from app.web.templating import render


async def search(request: Request) -> Response:
    q = request.query_params.get("q", "").strip()[: queries.MAX_QUERY]
    async with services(request).db.transaction() as session:
        user = await access.require_staff(request, session)
        hits: list[queries.OrgHit] = []
        cards = {}
        if q:
            await terms.catch_up(session)
            hits = await queries.search(session, q)
            cards = await pages.hit_cards(session, hits)
            # One row without an org (the search itself) and one in each org it showed.
            details = {"q": q, "hits": len(hits)}
            await audit.record(session, org_id=None, actor=user, action=audit.STAFF_SEARCHED, details=details)
            for hit in hits:
                await audit.record(
                    session, org_id=hit.org.id, actor=user, action=audit.STAFF_SEARCHED, details=details
                )
    context = {"q": q, "hits": hits, "cards": cards, "links_for": lambda slug: pages.links_for(request, slug)}
    return render(request, "staff/search.html", context)


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
    """The customer's own overview (their cards, most urgent first), with what needs a human
    spelled out above it; apps and connection facts on demand."""
    async with services(request).db.transaction() as session:
        try:
            grant = await access.require_org_access(request, session)
        except ReasonRequired as exc:
            return access.to_reason_form(request, exc)
        cards = await overview.overview(session, org_id=grant.org_id)
        needs = await views.attention(session, org_id=grant.org_id, cards=cards)
        apps = await queries.apps_of_org(session, org_id=grant.org_id)
        await access.viewed(session, grant, "overview")
    context = {
        "grant": grant,
        "cards": cards,
        "attention": needs,
        "apps": apps,
        "links": pages.links_for(request, grant.org.slug),
    }
    return render(request, "staff/org.html", context)


routes = [
    Route("/staff", search, name="staff:search"),
    *audit_routes.routes,
    Route("/staff/orgs/{org_slug}/open", open_org, methods=["GET", "POST"], name="staff:open"),
    Route("/staff/orgs/{org_slug}", org_overview, name="staff:org"),
    *event_routes.routes,
    *inspector_routes.routes,
]
