"""Connecting WABAs through the Graph API, and each WABA's connection page: synced state, refresh,
the subscription panel (toggled in place with HTMX), disconnect and delete.

Owners and admins change things; viewers see the state only. Another org's WABA is a 404.
No handler holds a transaction open across a Graph call (the services take care of that).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.connections import connect, subscriptions, sync
from app.connections import facebook_login as login
from app.events.hooks import committed_hooks
from app.graph.errors import GraphError
from app.meta import queries as meta_queries
from app.tenancy.context import OrgContext, require_member
from app.tenancy.models import Role
from app.wabas import queries as wabas_queries
from app.web import toasts
from app.web.forms import form_fields, form_lists
from app.web.services import services
from app.web.templating import is_htmx, render

CONNECT_FIELDS = ("app_id", "waba_id")  # never the token: it is not sent back to the page


async def connect_page(request: Request) -> Response:
    """GET shows the paste-a-token form; POST checks the token with Graph, then connects and syncs."""
    svc = services(request)
    form = await form_fields(request) if request.method == "POST" else {}
    async with svc.db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        apps = await meta_queries.usable_apps(session, org_id=ctx.org_id)
        app = (
            await meta_queries.usable_app(session, org_id=ctx.org_id, app_id=form.get("app_id", "").strip())
            if form
            else None
        )
    error = warning = None
    if request.method == "POST":
        try:
            if app is None:
                raise connect.ConnectError(
                    "Choose one of the Meta apps listed (add your own under Settings → Meta apps)."
                )
            inspection = await connect.inspect(
                svc.graph, app=app, waba_id=form.get("waba_id", ""), token=form.get("access_token", "")
            )
            async with svc.db.transaction() as session:
                # Not ``ctx``: a refusal rolls this back, and the page still shows ctx's org.
                member = await require_member(request, session, role=Role.ADMIN)
                current = await meta_queries.usable_app(session, org_id=member.org_id, app_id=app.app_id)
                assert current is not None
                done = await connect.store(
                    session,
                    org=member.org,
                    app=current,
                    inspection=inspection,
                    token=form.get("access_token", ""),
                    actor=member.user,
                    accept_shared_app=form.get("accept_shared_app") == "1",
                )
        except connect.SharedApp as exc:
            warning = str(exc)
        except connect.ConnectError as exc:
            error = str(exc)
        else:
            routed = f" {done.routed} earlier notifications are now routed to it." if done.routed else ""
            toasts.add(
                request,
                f"WABA {done.waba.waba_id} is connected: {done.phones} phone numbers synced.{routed}",
                "success",
            )
            if done.unchecked:
                toasts.add(request, done.unchecked, "info")
            return RedirectResponse(
                request.url_for("wabas:connection", org_slug=ctx.org.slug, waba_pk=done.waba.id), 303
            )
    context: dict[str, Any] = {
        "ctx": ctx,
        "apps": apps,
        "error": error,
        "warning": warning,
        # A GET may name the WABA and app (the overview's offer to connect a WABA that notifications arrived for).
        "form": {k: (form if form else request.query_params).get(k, "")[:64] for k in CONNECT_FIELDS},
    }
    return render(request, "wabas/connect.html", context, status_code=400 if error else 200)


async def _member(request: Request, role: Role = Role.VIEWER) -> tuple[OrgContext, int]:
    async with services(request).db.read() as session:
        ctx = await require_member(request, session, role=role)
        waba = await wabas_queries.waba_by_pk(
            session, org_id=ctx.org_id, waba_pk=request.path_params["waba_pk"]
        )
    if waba is None:
        raise HTTPException(404)
    return ctx, waba.id


async def _status(request: Request, ctx: OrgContext, waba_pk: int) -> subscriptions.Status:
    """Meta's answer now (one Graph call), or what is known when the WABA has no token."""
    svc = services(request)
    try:
        return await subscriptions.read_status(svc.db, svc.graph, org_id=ctx.org_id, waba_pk=waba_pk)
    except sync.NotConnected as exc:
        async with svc.db.read() as session:
            status = await subscriptions.known_status(session, org_id=ctx.org_id, waba_pk=waba_pk)
        status.error = str(exc)
        return status


def _panel(
    request: Request,
    ctx: OrgContext,
    status: subscriptions.Status,
    *,
    message: str | None = None,
    ok: bool = True,
) -> Response:
    context: dict[str, Any] = {
        "ctx": ctx,
        "status": status,
        "waba": status.waba,
        "message": message,
        "ok": ok,
    }
    return render(request, "wabas/connection.html", context, block="panel", status_code=200)


async def connection_page(request: Request) -> Response:
    """The WABA's Graph side: synced state and the subscription panel, as last read from Meta (by
    connect, "Refresh from Meta", the hourly sync or a toggle), so that viewing it spends none of
    the WABA's hourly Graph calls. A connected WABA whose apps were never listed is read once."""
    ctx, waba_pk = await _member(request)
    async with services(request).db.read() as session:
        status = await subscriptions.known_status(session, org_id=ctx.org_id, waba_pk=waba_pk)
    if status.apps is None and status.waba.access_token and status.waba.disconnected_at is None:
        status = await _status(request, ctx, waba_pk)
    return _panel(request, ctx, status)


async def toggle_subscription(request: Request) -> Response:
    """POST action=subscribe|unsubscribe; HTMX swaps the panel in place, a plain form gets a redirect."""
    ctx, waba_pk = await _member(request, Role.ADMIN)
    svc = services(request)
    form = await form_fields(request)
    action = form.get("action", "")
    if action not in ("subscribe", "unsubscribe"):
        raise HTTPException(400, "action must be subscribe or unsubscribe")
    try:
        outcome = await subscriptions.toggle(
            svc.db,
            svc.graph,
            org_id=ctx.org_id,
            waba_pk=waba_pk,
            subscribe=action == "subscribe",
            actor=ctx.user,
            override_callback_uri=form.get("override_callback_uri", ""),
            verify_token=form.get("verify_token", ""),
        )
    except (subscriptions.SubscriptionError, sync.NotConnected) as exc:
        message, ok, status = str(exc), False, await _status(request, ctx, waba_pk)
    else:
        message, ok, status = outcome.message, outcome.ok, outcome.status
    if not is_htmx(request):
        toasts.add(request, message, "success" if ok else "error")
        return RedirectResponse(
            request.url_for("wabas:connection", org_slug=ctx.org.slug, waba_pk=waba_pk), 303
        )
    return _panel(request, ctx, status, message=message, ok=ok)


async def refresh(request: Request) -> Response:
    ctx, waba_pk = await _member(request, Role.ADMIN)
    svc = services(request)
    try:
        result = await sync.sync_waba(
            svc.db, svc.graph, org_id=ctx.org_id, waba_pk=waba_pk, hooks=committed_hooks(request)
        )
    except (GraphError, sync.NotConnected) as exc:
        toasts.add(request, str(exc), "error")
    else:
        drift = len(result.drift_event_ids)
        note = f"; {drift} changed without a webhook" if drift else ""
        toasts.add(request, f"Synced from Meta: {result.phones} phone numbers{note}.", "success")
    return RedirectResponse(request.url_for("wabas:connection", org_slug=ctx.org.slug, waba_pk=waba_pk), 303)


async def disconnect(request: Request) -> Response:
    """Stops syncing and forgets the token (history stays); optionally unsubscribes first."""
    ctx, waba_pk = await _member(request, Role.ADMIN)
    svc = services(request)
    form = await form_fields(request)
    try:
        message = await connect.disconnect(
            svc.db,
            svc.graph,
            org_id=ctx.org_id,
            waba_pk=waba_pk,
            actor=ctx.user,
            unsubscribe=form.get("unsubscribe") == "1",
        )
    except connect.LifecycleError as exc:
        toasts.add(request, str(exc), "error")
    else:
        toasts.add(request, message, "success")
    return RedirectResponse(request.url_for("wabas:connection", org_slug=ctx.org.slug, waba_pk=waba_pk), 303)


async def delete(request: Request) -> Response:
    """Deletes the WABA and its events, once its id is typed as confirmation."""
    ctx, waba_pk = await _member(request, Role.ADMIN)
    svc = services(request)
    form = await form_fields(request)
    org_slug = ctx.org.slug
    try:
        async with svc.db.transaction() as session:
            ctx = await require_member(request, session, role=Role.ADMIN)
            message = await connect.delete(
                session, org_id=ctx.org_id, waba_pk=waba_pk, actor=ctx.user, confirm=form.get("confirm", "")
            )
    except connect.LifecycleError as exc:
        toasts.add(request, str(exc), "error")
        return RedirectResponse(request.url_for("wabas:connection", org_slug=org_slug, waba_pk=waba_pk), 303)
    toasts.add(request, message, "success")
    return RedirectResponse(request.url_for("tenancy:home", org_slug=org_slug), 303)


async def facebook_start(request: Request) -> Response:
    """Starts Facebook Login for Business for one of the org's usable apps."""
    svc = services(request)
    async with svc.db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        app = await meta_queries.usable_app(
            session, org_id=ctx.org_id, app_id=request.query_params.get("app_id", "").strip()
        )
    if app is None:
        toasts.add(request, "Choose one of the Meta apps listed.", "error")
        return RedirectResponse(request.url_for("wabas:connect", org_slug=ctx.org.slug), 303)
    callback = str(request.url_for("wabas:facebook_callback", org_slug=ctx.org.slug))
    return await login.redirect(
        request, app, base_url=svc.graph.base_url, version=svc.graph.version, redirect_uri=callback
    )


async def facebook_callback(request: Request) -> Response:
    """Meta sends the admin back here with a code: exchange it, then list the WABAs the token was
    granted (debug_token's granular scopes) for the admin to pick from."""
    svc = services(request)
    async with svc.db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        app = await meta_queries.usable_app(
            session, org_id=ctx.org_id, app_id=login.started_for(request) or ""
        )
    error = None
    choices: list[connect.Choice] = []
    try:
        if app is None:
            raise login.LoginError("This Facebook login was not started here. Start again.")
        token = await login.finish(request, app, base_url=svc.graph.base_url, version=svc.graph.version)
        choices = await connect.granted_wabas(svc.graph, app=app, token=token)
    except (login.LoginError, connect.ConnectError) as exc:
        login.forget(request)
        error = str(exc)
    context: dict[str, Any] = {"ctx": ctx, "app": app, "choices": choices, "error": error}
    return render(request, "wabas/connect_facebook.html", context, status_code=400 if error else 200)


async def facebook_pick(request: Request) -> Response:
    """Connects the WABAs the admin ticked, each checked and synced like a pasted token. The pick
    page showed each WABA's ownership warning beside its box (unticked, and named in ``warned``):
    ticking it accepts it. A warning the page could not show refuses that WABA, in words."""
    svc = services(request)
    form = await form_lists(request)
    picked = form.get("waba", [])[:50]
    warned = set(form.get("warned", []))
    async with svc.db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        app = await meta_queries.usable_app(
            session, org_id=ctx.org_id, app_id=login.started_for(request) or ""
        )
    token = login.token_of(request)
    if app is None or token is None:
        toasts.add(request, "The Facebook login has expired. Start again.", "error")
        return RedirectResponse(request.url_for("wabas:connect", org_slug=ctx.org.slug), 303)
    connected = 0
    for waba_id in picked:
        try:
            inspection = await connect.inspect(svc.graph, app=app, waba_id=waba_id, token=token)
            async with svc.db.transaction() as session:
                member = await require_member(request, session, role=Role.ADMIN)
                current = await meta_queries.usable_app(session, org_id=member.org_id, app_id=app.app_id)
                assert current is not None
                done = await connect.store(
                    session,
                    org=member.org,
                    app=current,
                    inspection=inspection,
                    token=token,
                    actor=member.user,
                    accept_shared_app=waba_id in warned,
                )
            connected += 1
            for note in (done.warning, done.unchecked):
                if note:
                    toasts.add(request, f"WABA {waba_id[:64]}: {note}", "info")
        except connect.SharedApp as exc:
            toasts.add(
                request, f"WABA {waba_id[:64]} was not connected: {exc} Start again to decide.", "error"
            )
        except connect.ConnectError as exc:
            toasts.add(request, f"WABA {waba_id[:64]}: {exc}", "error")
    login.forget(request)
    if connected:
        toasts.add(
            request,
            f"{connected} WABA{'s' if connected != 1 else ''} connected through Facebook Login.",
            "success",
        )
    return RedirectResponse(request.url_for("tenancy:home", org_slug=ctx.org.slug), 303)


routes = [
    Route("/o/{org_slug}/wabas/connect/facebook", facebook_start, name="wabas:facebook_start"),
    Route("/o/{org_slug}/wabas/connect/facebook/callback", facebook_callback, name="wabas:facebook_callback"),
    Route(
        "/o/{org_slug}/wabas/connect/facebook/pick",
        facebook_pick,
        methods=["POST"],
        name="wabas:facebook_pick",
    ),
    Route("/o/{org_slug}/wabas/connect", connect_page, methods=["GET", "POST"], name="wabas:connect"),
    Route("/o/{org_slug}/wabas/{waba_pk:id}/subscription", connection_page, name="wabas:connection"),
    Route(
        "/o/{org_slug}/wabas/{waba_pk:id}/subscription",
        toggle_subscription,
        methods=["POST"],
        name="wabas:subscription_toggle",
    ),
    Route("/o/{org_slug}/wabas/{waba_pk:id}/refresh", refresh, methods=["POST"], name="wabas:refresh"),
    Route(
        "/o/{org_slug}/wabas/{waba_pk:id}/disconnect", disconnect, methods=["POST"], name="wabas:disconnect"
    ),
    Route("/o/{org_slug}/wabas/{waba_pk:id}/delete", delete, methods=["POST"], name="wabas:delete"),
]
