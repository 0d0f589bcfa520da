"""The app node, ``GET /{app-id}?fields=id,name,business``: which business portfolio owns an app.

Graph serves apps and WABAs under the same ``/{node-id}`` path, so ``get_node`` looks the id up
among the apps first. The app's own access token (``app_id|app_secret``) or a token of that app may
read it; ``business`` is left out when no business owns the app, as Graph leaves out empty fields.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.graph.fake import errors, routes_waba
from app.graph.fake.common import (
    Refused,
    app_header,
    apply_fault,
    bearer,
    check_version,
    state_of,
    valid_token,
)
from app.graph.fake.world import FakeApp

APP_FIELDS = ("id", "name", "link", "business")
APP_DEFAULT_FIELDS = ("id", "name", "link")


async def get_node(request: Request) -> Response:
    check_version(request)
    state = state_of(request)
    with state.lock:
        app = state.apps.get(request.path_params["waba_id"])
    if app is None:
        return await routes_waba.get_waba(request)
    return await get_app(request, app)


def _may_read(request: Request, app: FakeApp) -> None:
    caller = bearer(request) or ""
    app_id, _, secret = caller.partition("|")
    if app_id == app.id and secret and secrets.compare_digest(app.secret, secret):
        return
    state = state_of(request)
    with state.lock:
        other = state.apps.get(app_id) if secret else None
    if other is not None and other.id != app.id and secrets.compare_digest(other.secret, secret):
        raise Refused(errors.no_such_object(app.id, request.method))  # another app's own token
    if secret:
        raise Refused(errors.invalid_token())
    if valid_token(state, caller).app_id != app.id:
        raise Refused(errors.no_such_object(app.id, request.method))


async def get_app(request: Request, app: FakeApp) -> Response:
    state = state_of(request)
    await apply_fault(request, state.take_fault(request.method, request.url.path), None)
    _may_read(request, app)
    asked = request.query_params.get("fields")
    names = [f.strip() for f in asked.split(",") if f.strip()] if asked else list(APP_DEFAULT_FIELDS)
    for name in names:
        if name not in APP_FIELDS:
            raise Refused(
                errors.bad_parameter(
                    f"(#100) Tried accessing nonexisting field ({name}) on node type (Application)"
                )
            )
    with state.lock:
        node = app.as_graph()
    body: dict[str, Any] = {"id": node["id"], **{n: node[n] for n in names if n in node}}
    return JSONResponse(body, headers=app_header(state.count_app_call(app.id)))
