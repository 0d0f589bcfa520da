"""Staff's delivery inspector for any Meta app, ``/staff/apps/{app_id}``. An org's app is that
org's data: it needs the same stated reason as the org's pages, and every view is audited there."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.audit import service as audit
from app.meta import queries as meta_queries
from app.processing.inspector import page_context, reprocess
from app.staff import access
from app.tenancy.models import Organization
from app.web import toasts
from app.web.services import services
from app.web.templating import render


async def staff_inspector(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        user = await access.require_staff(request, session)
        app = await meta_queries.app_by_app_id(session, request.path_params["app_id"])
        if app is None:
            raise HTTPException(404)
        org = await session.get(Organization, app.org_id) if app.org_id is not None else None
        reason = access.granted_reason(request, org) if org is not None else "platform app"
        if org is not None and reason is None:
            target = request.url_for("staff:open", org_slug=org.slug).include_query_params(
                next=request.url.path
            )
            return RedirectResponse(str(target), 303)
        context = await page_context(request, session, app)
        await audit.record(
            session,
            org_id=app.org_id,
            actor=user,
            action=audit.STAFF_VIEWED,
            target=f"app {app.app_id} inspector",
            details={"reason": reason or ""},
        )
    base = str(request.url_for("staff:reprocess", app_id=app.app_id, delivery_id=0).path)[
        : -len("0/reprocess")
    ]
    return render(
        request,
        "ops/inspector.html",
        {**context, "org": org, "staff": True, "reason": reason, "reprocess_base": base},
    )


async def staff_reprocess(request: Request) -> Response:
    db = services(request).db
    async with db.read() as session:
        user = await access.require_staff(request, session)
        app = await meta_queries.app_by_app_id(session, request.path_params["app_id"])
        if app is None:
            raise HTTPException(404)
        org = await session.get(Organization, app.org_id) if app.org_id is not None else None
    if org is not None and access.granted_reason(request, org) is None:
        raise HTTPException(404)
    message = await reprocess(request, app, request.path_params["delivery_id"])
    async with db.transaction() as session:
        await audit.record(
            session,
            org_id=app.org_id,
            actor=user,
            action=audit.DELIVERY_REPROCESSED,
            target=f"app {app.app_id} delivery {request.path_params['delivery_id']}",
            details={"reason": (access.granted_reason(request, org) if org else "platform app") or ""},
        )
    toasts.add(request, message, "success")
    return RedirectResponse(request.url_for("staff:app", app_id=app.app_id), 303)


routes = [
    Route("/staff/apps/{app_id}", staff_inspector, name="staff:app"),
    Route(
        "/staff/apps/{app_id}/deliveries/{delivery_id:id}/reprocess",
        staff_reprocess,
        methods=["POST"],
        name="staff:reprocess",
    ),
]
