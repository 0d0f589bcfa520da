"""Facebook Login's dialog, the code exchange and debug_token (SPEC.md §6.4).

The dialog is a plain HTML form standing in for Meta's consent screens: it lists every WABA the
fake knows, and the ones ticked are granted to the token the code is exchanged for. A WABA's
``?grant=`` query parameter pre-ticks it, so scripts can drive the flow without parsing HTML.
"""

from __future__ import annotations

import secrets
from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.graph.fake import errors
from app.graph.fake.common import (
    Refused,
    app_header,
    apply_fault,
    bearer,
    check_version,
    form_or_json,
    state_of,
)
from app.graph.fake.state import Grant, new_token
from app.graph.fake.world import DEFAULT_SCOPES, FakeToken

DIALOG_FIELDS = ("client_id", "redirect_uri", "state", "config_id", "scope", "response_type")


def _dialog_page(params: dict[str, str], wabas: list[tuple[str, str]], app_name: str) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
        for name in DIALOG_FIELDS
        if params.get(name)
    )
    boxes = "".join(
        f'<label><input type="checkbox" name="waba" value="{escape(waba_id)}" checked> {escape(name)} ({escape(waba_id)})</label><br>'
        for waba_id, name in wabas
    )
    return (
        f"<!doctype html><html><head><title>Log in with Facebook</title></head><body>"
        f"<h1>{escape(app_name)} wants to manage your WhatsApp Business accounts</h1>"
        f'<form method="post">{hidden}{boxes}'
        f'<button type="submit" name="decision" value="allow">Continue</button>'
        f'<button type="submit" name="decision" value="deny">Cancel</button></form></body></html>'
    )


async def dialog(request: Request) -> Response:
    check_version(request)
    state = state_of(request)
    params = dict(request.query_params)
    with state.lock:
        app = state.apps.get(params.get("client_id", ""))
        wabas = [(w.id, w.name) for w in state.wabas.values()]
    if app is None:
        return HTMLResponse("<h1>Invalid App ID</h1>", status_code=400)
    if not params.get("redirect_uri"):
        return HTMLResponse("<h1>URL blocked: redirect_uri is missing</h1>", status_code=400)
    return HTMLResponse(_dialog_page(params, wabas, app.name))


async def dialog_decision(request: Request) -> Response:
    check_version(request)
    state = state_of(request)
    form = await request.form()
    redirect_uri = str(form.get("redirect_uri", ""))
    app_id = str(form.get("client_id", ""))
    with state.lock:
        known = app_id in state.apps
    if not known or not redirect_uri:
        return HTMLResponse("<h1>Invalid request</h1>", status_code=400)
    back: dict[str, str] = {"state": str(form["state"])} if form.get("state") else {}
    if form.get("decision") != "allow":
        back |= {
            "error": "access_denied",
            "error_code": "200",
            "error_description": "Permissions error",
            "error_reason": "user_denied",
        }
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=302)
    scope = str(form.get("scope", ""))
    scopes = tuple(s.strip() for s in scope.split(",") if s.strip()) or DEFAULT_SCOPES
    granted = tuple(str(v) for v in form.getlist("waba"))
    token = FakeToken(value=new_token(), app_id=app_id, scopes=scopes, waba_ids=granted, type="SYSTEM_USER")
    code = "AQ" + secrets.token_urlsafe(32)
    with state.lock:
        state.grants[code] = Grant(
            token=token, redirect_uri=redirect_uri, app_id=app_id, created=state.clock()
        )
    return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, **back})}", status_code=302)


async def access_token(request: Request) -> Response:
    check_version(request)
    state = state_of(request)
    params = await form_or_json(request)
    await apply_fault(request, state.take_fault(request.method, request.url.path), None)
    with state.lock:
        app = state.apps.get(params.get("client_id", ""))
        grant = state.grants.get(params.get("code", ""))
        if app is None:
            raise Refused(errors.graph_error(101, "Error validating application. Invalid application ID."))
        if not secrets.compare_digest(app.secret, params.get("client_secret", "")):
            raise Refused(errors.graph_error(1, "Error validating client secret."))
        if grant is None or grant.app_id != app.id:
            raise Refused(errors.bad_parameter("Invalid verification code format."))
        if grant.used:
            raise Refused(errors.bad_parameter("This authorization code has been used.", subcode=36009))
        if state.clock() - grant.created > state.code_ttl_seconds:
            raise Refused(errors.bad_parameter("This authorization code has expired.", subcode=36007))
        if params.get("redirect_uri", "") != grant.redirect_uri:
            raise Refused(
                errors.bad_parameter(
                    "Error validating verification code. Please make sure your redirect_uri is identical "
                    "to the one you used in the OAuth dialog request",
                    subcode=36008,
                )
            )
        grant.used = True
        state.tokens[grant.token.value] = grant.token
    body = {"access_token": grant.token.value, "token_type": "bearer"}
    return JSONResponse(body, headers=app_header(state.count_app_call(app.id)))


def _inspect(token: FakeToken | None, app_name: str, now: float) -> dict[str, Any]:
    if token is None:
        return {
            "is_valid": False,
            "error": {"code": 190, "message": "Invalid OAuth access token."},
            "scopes": [],
        }
    data: dict[str, Any] = {
        "app_id": token.app_id,
        "type": token.type,
        "application": app_name,
        "data_access_expires_at": 0,
        "expires_at": token.expires_at,
        "is_valid": not token.revoked and not token.expired(now),
        "scopes": list(token.scopes),
        "granular_scopes": token.granular_scopes(),
        "user_id": token.user_id,
    }
    if token.expired(now):
        data["error"] = {"code": 190, "subcode": 463, "message": "Session has expired."}
    elif token.revoked:
        data["error"] = {"code": 190, "subcode": 460, "message": "The session has been invalidated."}
    return data


async def debug_token(request: Request) -> Response:
    """Needs the app's access token (``app_id|app_secret``) or a valid token of the same app."""
    check_version(request)
    state = state_of(request)
    await apply_fault(request, state.take_fault(request.method, request.url.path), None)
    caller = bearer(request) or ""
    app_id, _, secret = caller.partition("|")
    with state.lock:
        app = state.apps.get(app_id)
        if app is None or not secrets.compare_digest(app.secret, secret):
            own = state.tokens.get(caller)
            app = state.apps.get(own.app_id) if own and not own.expired(state.clock()) else None
        if app is None:
            raise Refused(errors.invalid_token())
        inspected = state.tokens.get(request.query_params.get("input_token", ""))
        data = _inspect(inspected, app.name, state.clock())
    return JSONResponse({"data": data}, headers=app_header(state.count_app_call(app.id)))
