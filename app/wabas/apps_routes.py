"""The org's Meta apps page: the apps whose webhooks reach the org (its own, editable by owners and
admins; the platform's read-only), where Meta's callback URL and verify token are shown, and where
an app is added or its details replaced."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.meta import app_cache, service
from app.tenancy.context import RoleRequired, require_member
from app.tenancy.models import Role
from app.wabas.apps import apps_reaching
from app.web import toasts
from app.web.forms import form_fields
from app.web.services import services
from app.web.templating import render

# Never the secret: it is not sent back to the page.
FORM_FIELDS = ("app_id", "name", "verify_token", "login_config_id")


def _login_config_id(form: dict[str, str]) -> str | None:
    """None keeps the stored id (the field left empty); the box removes it."""
    if form.get("remove_login_config_id") == "1":
        return ""
    return form.get("login_config_id", "").strip() or None


async def apps(request: Request) -> Response:
    """GET lists the apps; POST (owners and admins) adds an app or replaces its details."""
    svc = services(request)
    error = None
    form = await form_fields(request) if request.method == "POST" else {}
    saved = None
    async with svc.db.transaction() as session:
        ctx = await require_member(request, session)
        if request.method == "POST" and ctx.can_admin:
            try:
                saved = await service.save_org_app(
                    session,
                    ctx,
                    app_id=form.get("app_id", ""),
                    name=form.get("name", ""),
                    app_secret=form.get("app_secret", ""),
                    verify_token=form.get("verify_token", ""),
                    login_config_id=_login_config_id(form),
                )
            except service.MetaAppError as exc:
                error = str(exc)
        views = await apps_reaching(session, ctx, base_url=svc.settings.base_url)
    if request.method == "POST" and not ctx.can_admin:
        # Raised after the block: a rollback would expire the org the error page shows.
        raise RoleRequired(Role.ADMIN)
    if saved is not None:
        app_cache.invalidate(saved.app.app_id)
        verb = "added" if saved.created else "updated"
        toasts.add(request, f"App {saved.app.app_id} is {verb}.", "success")
        return RedirectResponse(request.url_for("meta:apps", org_slug=ctx.org.slug), 303)
    return render(
        request,
        "meta/apps.html",
        {
            "ctx": ctx,
            "apps": views,
            "error": error,
            "form": {k: form.get(k, "") for k in FORM_FIELDS},
        },
        status_code=400 if error else 200,
    )


routes = [
    Route("/o/{org_slug}/settings/apps", apps, methods=["GET", "POST"], name="meta:apps"),
]
