"""The org's Meta apps: where Meta's callback URL and verify token are shown, and apps are added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.meta import app_cache, queries, service
from app.meta.models import MetaApp
from app.tenancy.context import OrgContext, RoleRequired, require_member
from app.tenancy.models import Role
from app.web import toasts
from app.web.forms import form_fields
from app.web.services import services
from app.web.templating import render

FORM_FIELDS = ("app_id", "name", "verify_token")  # never the secret: it is not sent back to the page


@dataclass(frozen=True)
class AppView:
    """What the page may show of an app: the secret is only ever "set"."""

    app_id: str
    name: str
    callback_url: str
    verify_token: str | None  # None for viewers
    last_verified_at: datetime | None
    signature_failures: int
    last_signature_failure_at: datetime | None


def callback_url(base_url: str, app_id: str) -> str:
    return f"{base_url}/webhooks/whatsapp/{app_id}"


def _view(app: MetaApp, ctx: OrgContext, base_url: str) -> AppView:
    return AppView(
        app_id=app.app_id,
        name=app.name,
        callback_url=callback_url(base_url, app.app_id),
        verify_token=app.verify_token if ctx.can_admin else None,
        last_verified_at=app.last_verified_at,
        signature_failures=app.signature_failures,
        last_signature_failure_at=app.last_signature_failure_at,
    )


async def apps(request: Request) -> Response:
    """GET lists the org's apps; POST (owners and admins) adds an app or replaces its details."""
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
                )
            except service.MetaAppError as exc:
                error = str(exc)
        views = [
            _view(a, ctx, svc.settings.base_url)
            for a in await queries.apps_of_org(session, org_id=ctx.org_id)
        ]
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
