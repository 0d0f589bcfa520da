"""``/o/{org_slug}/settings/retention``: members see how long data is kept; owners and admins
change it (audited)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.retention import service
from app.tenancy.context import RoleRequired, require_member
from app.tenancy.models import Role
from app.web import toasts
from app.web.forms import form_fields
from app.web.services import services
from app.web.templating import render


async def retention(request: Request) -> Response:
    svc = services(request)
    error = None
    form = await form_fields(request) if request.method == "POST" else {}
    async with svc.db.transaction() as session:
        ctx = await require_member(request, session)
        if request.method == "POST" and ctx.can_admin:
            try:
                await service.set_periods(
                    session,
                    svc.settings,
                    ctx,
                    deliveries_days=form.get("deliveries_days", ""),
                    messages_days=form.get("messages_days", ""),
                )
            except service.RetentionError as exc:
                error = str(exc)
        periods = await service.periods_of(session, svc.settings, org_id=ctx.org_id)
    if request.method == "POST" and not ctx.can_admin:
        raise RoleRequired(Role.ADMIN)
    if request.method == "POST" and error is None:
        toasts.add(request, "Retention saved.", "success")
        return RedirectResponse(request.url_for("retention:settings", org_slug=ctx.org.slug), 303)
    context = {"ctx": ctx, "periods": periods, "error": error, "form": form}
    return render(request, "ops/retention.html", context, status_code=400 if error else 200)


routes = [
    Route("/o/{org_slug}/settings/retention", retention, methods=["GET", "POST"], name="retention:settings"),
]
