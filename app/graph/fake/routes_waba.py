"""The WABA node, its phone numbers and its subscribed apps (SPEC.md §4, §6.1, §6.2)."""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.graph.fake import errors
from app.graph.fake.common import Refused, form_or_json, state_of, waba_caller

WABA_DEFAULT_FIELDS = ("id", "name", "currency", "timezone_id", "message_template_namespace")
PHONE_DEFAULT_FIELDS = ("verified_name", "display_phone_number", "id", "quality_rating")
MAX_OVERRIDE_URI = 200


def pick_fields(
    node: dict[str, Any], request: Request, defaults: tuple[str, ...], node_type: str
) -> dict[str, Any]:
    asked = request.query_params.get("fields")
    names = [f.strip() for f in asked.split(",") if f.strip()] if asked else list(defaults)
    for name in names:
        if name not in node:
            raise Refused(
                errors.bad_parameter(
                    f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
                )
            )
    return {"id": node["id"], **{name: node[name] for name in names}}


async def get_waba(request: Request) -> Response:
    caller, waba = await waba_caller(request)
    body = pick_fields(waba.as_graph(), request, WABA_DEFAULT_FIELDS, "WhatsAppBusinessAccount")
    return JSONResponse(body, headers=caller.headers)


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode()


def _from_cursor(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(base64.urlsafe_b64decode(value.encode()).decode())
    except ValueError as exc:
        raise Refused(errors.bad_parameter("(#100) Invalid cursor")) from exc


async def list_phone_numbers(request: Request) -> Response:
    caller, waba = await waba_caller(request)
    try:
        limit = max(1, min(100, int(request.query_params.get("limit", "25"))))
    except ValueError as exc:
        raise Refused(errors.bad_parameter("(#100) Param limit must be an integer")) from exc
    start = _from_cursor(request.query_params.get("after"))
    with state_of(request).lock:
        phones = [p.as_graph() for p in waba.phones]
    page = [
        pick_fields(p, request, PHONE_DEFAULT_FIELDS, "WhatsAppBusinessPhoneNumber")
        for p in phones[start : start + limit]
    ]
    body: dict[str, Any] = {"data": page}
    if page:
        body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page))}}
        if start + limit < len(phones):
            body["paging"]["next"] = str(request.url.include_query_params(after=_cursor(start + limit)))
    return JSONResponse(body, headers=caller.headers)


async def get_subscribed_apps(request: Request) -> Response:
    caller, waba = await waba_caller(request)
    state = state_of(request)
    data: list[dict[str, Any]] = []
    with state.lock:
        for subscription in waba.subscriptions.values():
            app = state.apps.get(subscription.app_id)
            item: dict[str, Any] = {
                "whatsapp_business_api_data": {
                    "id": subscription.app_id,
                    "link": app.link if app else "",
                    "name": app.name if app else subscription.app_id,
                }
            }
            if subscription.override_callback_uri:
                item["override_callback_uri"] = subscription.override_callback_uri
            data.append(item)
    return JSONResponse({"data": data}, headers=caller.headers)


async def subscribe_app(request: Request) -> Response:
    caller, waba = await waba_caller(request)
    params = await form_or_json(request)
    uri = params.get("override_callback_uri") or None
    verify_token = params.get("verify_token") or None
    if uri and not verify_token:
        raise Refused(errors.bad_parameter("(#100) The parameter verify_token is required"))
    if verify_token and not uri:
        raise Refused(errors.bad_parameter("(#100) The parameter override_callback_uri is required"))
    if uri and (not uri.startswith("https://") or len(uri) > MAX_OVERRIDE_URI):
        raise Refused(errors.bad_parameter("(#100) Param override_callback_uri must be a valid https URL"))
    # Subscribing again without an override removes the override (SPEC.md §4).
    state_of(request).subscribe(waba.id, caller.token.app_id, uri)
    with state_of(request).lock:
        waba.subscriptions[caller.token.app_id].verify_token = verify_token
    return JSONResponse({"success": True}, headers=caller.headers)


async def unsubscribe_app(request: Request) -> Response:
    caller, waba = await waba_caller(request)
    with state_of(request).lock:
        waba.subscriptions.pop(caller.token.app_id, None)
    return JSONResponse({"success": True}, headers=caller.headers)
