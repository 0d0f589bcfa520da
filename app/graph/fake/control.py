"""Control endpoints under ``/_fake/``, for a fake running in another process (``wabawatch demo``, scripts).

In-process users (the test fixture) call ``FakeGraphState`` directly instead.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.graph.fake.common import state_of
from app.graph.fake.state import FAULT_KINDS
from app.graph.fake.world import FakePhone

FAULT_OPTIONS = ("times", "path", "method", "code", "delay", "regain_minutes")


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


async def add_fault(request: Request) -> Response:
    body = await _json(request)
    kind = body.get("kind")
    if kind not in FAULT_KINDS:
        return JSONResponse({"error": f"kind must be one of {', '.join(FAULT_KINDS)}"}, status_code=400)
    options = {k: body[k] for k in FAULT_OPTIONS if k in body}
    try:
        state_of(request).fail(kind, **options)
    except TypeError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"ok": True}, status_code=201)


async def clear_faults(request: Request) -> Response:
    state_of(request).clear_faults()
    return Response(status_code=204)


async def reset(request: Request) -> Response:
    state_of(request).reset()
    return Response(status_code=204)


async def add_app(request: Request) -> Response:
    """``{"id", "secret", "name"?, "business_id"? (null: no business owns it), "business_name"?}``."""
    body = await _json(request)
    fields = {k: body[k] for k in ("business_id", "business_name") if k in body}
    try:
        state_of(request).add_app(
            str(body["id"]), str(body["secret"]), str(body.get("name", "wabawatch")), **fields
        )
    except (KeyError, TypeError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"ok": True}, status_code=201)


async def add_waba(request: Request) -> Response:
    """``{"id", "name", "phones": [{"id", "display_phone_number", "verified_name", …}], …other WABA fields}``."""
    body = await _json(request)
    phones = [FakePhone(**p) for p in body.pop("phones", [])]
    try:
        state_of(request).add_waba(str(body.pop("id")), str(body.pop("name")), phones=phones, **body)
    except (KeyError, TypeError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"ok": True}, status_code=201)


async def add_token(request: Request) -> Response:
    """``{"app_id", "value"?, "scopes"?, "waba_ids"?, "expires_at"?}`` → ``{"access_token"}``."""
    body = await _json(request)
    value = body.pop("value", None)
    fields: dict[str, object] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in body.items() if k != "app_id"
    }
    try:
        token = state_of(request).add_token(str(body["app_id"]), value=value, **fields)
    except (KeyError, TypeError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"access_token": token.value}, status_code=201)


async def list_calls(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        calls = [{"method": c.method, "path": c.path, "status": c.status} for c in state.calls]
    return JSONResponse({"data": calls})
