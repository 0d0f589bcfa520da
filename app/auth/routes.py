from __future__ import annotations

import contextlib

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.audit import service as audit
from app.auth import service
from app.auth.oidc import SsoError, oidc_client
from app.lib.timeutil import utcnow
from app.mail.service import Mail, MailError, mailer
from app.tenancy import browsers
from app.tenancy import queries as tenancy_queries
from app.tenancy.context import require_signed_in
from app.tenancy.session import current_user, login_user, logout_user, session_digest
from app.web import toasts
from app.web.forms import client_address, form_fields, safe_next
from app.web.services import services
from app.web.templating import render, templates


async def _landing(request: Request, user_id: int) -> str:
    """Where a person goes after sign-in: the org they used last, else their first org."""
    async with services(request).db.read() as session:
        orgs = await tenancy_queries.orgs_of_user(session, user_id)
    preferred = request.session.get("org")
    for org, _role in orgs:
        if org.slug == preferred:
            return str(request.url_for("tenancy:home", org_slug=org.slug))
    if orgs:
        return str(request.url_for("tenancy:home", org_slug=orgs[0][0].slug))
    return str(request.url_for("tenancy:orgs"))


async def login(request: Request) -> Response:
    svc = services(request)
    next_url = safe_next(request.query_params.get("next"), "")
    if request.method == "GET":
        async with svc.db.read() as session:
            if (user := await current_user(request, session)) is not None:
                return RedirectResponse(next_url or await _landing(request, user.id), 303)
        return render(request, "auth/login.html", {"next": next_url, "email": "", "error": None})
    form = await form_fields(request)
    next_url = safe_next(form.get("next"), "")
    email = form.get("email", "")
    error = None
    throttled = False
    user = None
    async with svc.db.transaction() as session:
        try:
            user = await service.authenticate(
                session,
                svc.settings,
                svc.hasher,
                email=email,
                password=form.get("password", ""),
                address=client_address(request),
            )
        except service.AuthError as exc:
            error, throttled = str(exc), isinstance(exc, service.Throttled)
        if user is not None:
            await audit.record_sign_in(session, user=user, method="password")
            preferred = request.session.get("org")
            await login_user(request, session, user)
            if preferred:
                request.session["org"] = preferred
    if user is None:
        error = error or service.WRONG_CREDENTIALS
        status = 429 if throttled else 400
        response = render(
            request, "auth/login.html", {"next": next_url, "email": email, "error": error}, status_code=status
        )
        if throttled:
            response.headers["Retry-After"] = str(svc.settings.login_failure_window_seconds)
        return response
    return RedirectResponse(next_url or await _landing(request, user.id), 303)


async def logout(request: Request) -> Response:
    """Only this browser's session ends: its record is revoked, so a copy of this cookie stops working
    too, while the user's other browsers stay signed in."""
    raw = request.session.get("sid")
    if isinstance(raw, str):
        async with services(request).db.transaction() as session:
            await browsers.revoke_raw(session, raw=raw)
    logout_user(request)
    toasts.add(request, "You are signed out.", "success")
    return RedirectResponse(request.url_for("auth:login"), 303)


async def forgot_password(request: Request) -> Response:
    svc = services(request)
    if request.method == "GET":
        return render(request, "auth/forgot.html", {"sent": False})
    form = await form_fields(request)
    async with svc.db.transaction() as session:
        link = await service.start_password_reset(session, svc.settings, email=form.get("email", ""))
    if link is not None:
        url = svc.settings.base_url + str(request.url_for("auth:reset", token=link.token).path)
        mail = Mail(
            to=link.user.email,
            subject="Reset your wabawatch password",
            text=templates.env.get_template("emails/password_reset.txt").render(
                url=url, settings=svc.settings
            ),
        )
        # A failure is logged but not shown: the answer must not tell which addresses have accounts.
        with contextlib.suppress(MailError):
            await mailer(request).send(mail)
    # The same answer whether or not the account exists.
    return render(request, "auth/forgot.html", {"sent": True})


async def reset_password(request: Request) -> Response:
    svc = services(request)
    token = request.path_params["token"]
    if request.method == "GET":
        async with svc.db.read() as session:
            try:
                await service.usable_reset(session, token)
            except service.AuthError as exc:
                return render(
                    request, "auth/reset.html", {"error": str(exc), "usable": False}, status_code=400
                )
        return render(request, "auth/reset.html", {"error": None, "usable": True})
    form = await form_fields(request)
    if form.get("password", "") != form.get("password_confirm", ""):
        return render(
            request,
            "auth/reset.html",
            {"error": "The two passwords differ.", "usable": True},
            status_code=400,
        )
    try:
        async with svc.db.transaction() as session:
            user = await service.finish_password_reset(
                session, svc.hasher, token=token, password=form.get("password", "")
            )
            await login_user(request, session, user)
    except service.AuthError as exc:
        usable = "link" not in str(exc)
        return render(request, "auth/reset.html", {"error": str(exc), "usable": usable}, status_code=400)
    toasts.add(request, "Your password is changed. Other sessions were signed out.", "success")
    return RedirectResponse(await _landing(request, user.id), 303)


async def sso_start(request: Request) -> Response:
    oidc = oidc_client(request)
    if oidc is None:
        return render(
            request,
            "errors/error.html",
            {"status": 404, "message": "Single sign-on is not set up."},
            status_code=404,
        )
    request.session["sso_next"] = safe_next(request.query_params.get("next"), "")
    try:
        return await oidc.redirect(request, str(request.url_for("auth:sso_callback")))
    except SsoError as exc:
        return _sso_failed(request, str(exc), status_code=502)


async def sso_callback(request: Request) -> Response:
    svc = services(request)
    oidc = oidc_client(request)
    if oidc is None:
        return render(
            request,
            "errors/error.html",
            {"status": 404, "message": "Single sign-on is not set up."},
            status_code=404,
        )
    try:
        profile = await oidc.finish(request)
    except SsoError as exc:
        return _sso_failed(request, str(exc))
    next_url = safe_next(request.session.pop("sso_next", ""), "")
    error = None
    async with svc.db.transaction() as session:
        try:
            user = await service.oidc_sign_in(
                session,
                svc.hasher,
                issuer=profile.issuer,
                subject=profile.subject,
                email=profile.email,
                email_verified=profile.email_verified,
                name=profile.name,
            )
        except service.AuthError as exc:
            error = str(exc)
        else:
            await audit.record_sign_in(session, user=user, method="sso")
            await login_user(request, session, user)
    if error is not None:
        return _sso_failed(request, error)
    return RedirectResponse(next_url or await _landing(request, user.id), 303)


async def sessions(request: Request) -> Response:
    """The user's own sessions that still count, this browser's marked."""
    svc = services(request)
    async with svc.db.read() as session:
        user = await require_signed_in(request, session)
        records = await browsers.active_of(
            session, user_id=user.id, since=browsers.live_since(svc.settings, utcnow())
        )
    return render(request, "auth/sessions.html", {"records": records, "this_digest": session_digest(request)})


async def revoke_session(request: Request) -> Response:
    """Sign out one of the user's own sessions; anyone else's (or one already ended) is a 404."""
    svc = services(request)
    async with svc.db.transaction() as session:
        user = await require_signed_in(request, session)
        record = await browsers.revoke(
            session,
            user_id=user.id,
            record_id=request.path_params["session_id"],
            since=browsers.live_since(svc.settings, utcnow()),
        )
    if record is None:
        raise HTTPException(404)
    if record.token_digest == session_digest(request):
        logout_user(request)
        toasts.add(request, "You are signed out.", "success")
        return RedirectResponse(request.url_for("auth:login"), 303)
    toasts.add(request, "That session is signed out.", "success")
    return RedirectResponse(request.url_for("auth:sessions"), 303)


async def revoke_other_sessions(request: Request) -> Response:
    svc = services(request)
    async with svc.db.transaction() as session:
        user = await require_signed_in(request, session)
        this = session_digest(request)
        assert this is not None  # signed in, so the cookie names its session
        await browsers.revoke_others(session, user_id=user.id, keep_digest=this)
    toasts.add(request, "Every other session is signed out.", "success")
    return RedirectResponse(request.url_for("auth:sessions"), 303)


def _sso_failed(request: Request, message: str, *, status_code: int = 400) -> Response:
    return render(
        request, "auth/login.html", {"next": "", "email": "", "error": message}, status_code=status_code
    )


routes = [
    Route("/login", login, methods=["GET", "POST"], name="auth:login"),
    Route("/logout", logout, methods=["POST"], name="auth:logout"),
    Route("/password/forgot", forgot_password, methods=["GET", "POST"], name="auth:forgot"),
    Route("/password/reset/{token}", reset_password, methods=["GET", "POST"], name="auth:reset"),
    Route("/login/sso", sso_start, methods=["GET"], name="auth:sso"),
    Route("/login/sso/callback", sso_callback, methods=["GET"], name="auth:sso_callback"),
    Route("/account/sessions", sessions, methods=["GET"], name="auth:sessions"),
    Route(
        "/account/sessions/{session_id:id}/revoke",
        revoke_session,
        methods=["POST"],
        name="auth:revoke_session",
    ),
    Route(
        "/account/sessions/revoke-others",
        revoke_other_sessions,
        methods=["POST"],
        name="auth:revoke_other_sessions",
    ),
]
