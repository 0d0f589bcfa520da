"""The delivery inspector of an org's own Meta app (owners and admins):
``/o/{org_slug}/settings/apps/{app_id}/inspector``. Staff see any app's under /staff/apps/ (see
``app.staff.inspector_routes``)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.audit import service as audit
from app.meta import queries as meta_queries
from app.processing.inspector import page_context, reprocess
from app.tenancy.context import require_member
from app.tenancy.models import Role
from app.web import toasts
from app.web.services import services
from app.web.templating import render


async def org_inspector(request: Request) -> Response:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        app = await meta_queries.app_of_org(session, org_id=ctx.org_id, app_id=request.path_params["app_id"])
        if app is None:
            raise HTTPException(404)
        context = await page_context(request, session, app)
    reprocess_url = request.url_for(
        "ops:org_reprocess", org_slug=ctx.org.slug, app_id=app.app_id, delivery_id=0
    )
    return render(
        request,
        "ops/inspector.html",
        {
            **context,
            "ctx": ctx,
            "staff": False,
            "reprocess_base": str(reprocess_url.path)[: -len("0/reprocess")],
        },
    )


async def org_reprocess(request: Request) -> Response:
    db = services(request).db
    async with db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        app = await meta_queries.app_of_org(session, org_id=ctx.org_id, app_id=request.path_params["app_id"])
        if app is None:
            raise HTTPException(404)
    message = await reprocess(request, app, request.path_params["delivery_id"])
    async with db.transaction() as session:
        await audit.record(
            session,
            org_id=ctx.org_id,
            actor=ctx.user,
            action=audit.DELIVERY_REPROCESSED,
            target=f"app {app.app_id} delivery {request.path_params['delivery_id']}",
        )
    toasts.add(request, message, "success")
    return RedirectResponse(
        request.url_for("ops:org_inspector", org_slug=ctx.org.slug, app_id=app.app_id), 303
    )


routes = [
    Route("/o/{org_slug}/settings/apps/{app_id}/inspector", org_inspector, name="ops:org_inspector"),
    Route(
        "/o/{org_slug}/settings/apps/{app_id}/inspector/deliveries/{delivery_id:id}/reprocess",
        org_reprocess,
        methods=["POST"],
        name="ops:org_reprocess",
    ),
]
