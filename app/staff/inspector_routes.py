"""Staff's delivery inspector for any Meta app, ``/staff/apps/{app_id}``, and the raw body of one
delivery. An org's app is that org's data: it needs the same stated reason as the org's pages, and
every view is audited there; the platform's own app is audited without an org.

Reprocessing a delivery changes stored events, so, like every state-changing staff action, it asks
for its own reason in its own form and its audit row carries it.
"""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.audit import service as audit
from app.meta import queries as meta_queries
from app.meta.models import MetaApp
from app.processing.inspector import page_context, reprocess
from app.staff import access
from app.tenancy.models import Organization, User
from app.web import toasts
from app.web.forms import form_fields
from app.web.services import services
from app.web.templating import render
from app.webhooks import queries as webhooks_queries

PLATFORM = "platform app"


async def _app(request: Request, session: AsyncSession) -> tuple[User, MetaApp, Organization | None]:
    user = await access.require_staff(request, session)
    app = await meta_queries.app_by_app_id(session, request.path_params["app_id"])
    if app is None:
        raise HTTPException(404)
    org = await session.get(Organization, app.org_id) if app.org_id is not None else None
    return user, app, org


def _to_reason_form(request: Request, org: Organization) -> Response:
    target = request.url_for("staff:open", org_slug=org.slug).include_query_params(next=request.url.path)
    return RedirectResponse(str(target), 303)


async def staff_inspector(request: Request) -> Response:
    async with services(request).db.transaction() as session:
        user, app, org = await _app(request, session)
        reason = access.granted_reason(request, org) if org is not None else PLATFORM
        if org is not None and reason is None:
            return _to_reason_form(request, org)
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


async def staff_delivery(request: Request) -> Response:
    """One delivery as Meta sent it: the raw body (pretty-printed when it is JSON), read-only."""
    delivery_id: int = request.path_params["delivery_id"]
    async with services(request).db.transaction() as session:
        user, app, org = await _app(request, session)
        reason = access.granted_reason(request, org) if org is not None else PLATFORM
        if org is not None and reason is None:
            return _to_reason_form(request, org)
        delivery = await webhooks_queries.delivery_of_app(session, app, delivery_id)
        if delivery is None:
            raise HTTPException(404)
        await audit.record(
            session,
            org_id=app.org_id,
            actor=user,
            action=audit.STAFF_VIEWED,
            target=f"app {app.app_id} delivery {delivery_id}",
            details={"reason": reason or ""},
        )
    body = None
    if delivery.body is not None:
        text = delivery.body.decode("utf-8", errors="replace")
        try:
            body = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            body = text
    context = {"app": app, "org": org, "reason": reason, "delivery": delivery, "body": body}
    return render(request, "staff/delivery.html", context)


async def staff_reprocess(request: Request) -> Response:
    db = services(request).db
    delivery_id: int = request.path_params["delivery_id"]
    form = await form_fields(request)
    async with db.read() as session:
        user, app, org = await _app(request, session)
    opened_for = access.granted_reason(request, org) if org is not None else PLATFORM
    if opened_for is None:
        raise HTTPException(404)
    back = RedirectResponse(request.url_for("staff:app", app_id=app.app_id), 303)
    try:
        reason = access.action_reason(form)
    except access.ActionRefused as exc:
        toasts.add(request, str(exc), "error")
        return back
    message = await reprocess(request, app, delivery_id)
    async with db.transaction() as session:
        await audit.record(
            session,
            org_id=app.org_id,
            actor=user,
            action=audit.DELIVERY_REPROCESSED,
            target=f"app {app.app_id} delivery {delivery_id}",
            details={"reason": reason, "opened_for": opened_for},
        )
    toasts.add(request, message, "success")
    return back


routes = [
    Route("/staff/apps/{app_id}", staff_inspector, name="staff:app"),
    Route("/staff/apps/{app_id}/deliveries/{delivery_id:id}", staff_delivery, name="staff:delivery"),
    Route(
        "/staff/apps/{app_id}/deliveries/{delivery_id:id}/reprocess",
        staff_reprocess,
        methods=["POST"],
        name="staff:reprocess",
    ),
]
