"""What every fake Graph endpoint does first: faults, the access token, permissions and usage headers."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.graph.fake import errors
from app.graph.fake.state import FakeGraphState, Fault, Usage
from app.graph.fake.world import WABA_MANAGEMENT, FakeToken, FakeWaba

VERSION = re.compile(r"v\d{1,2}\.\d")


class Refused(Exception):
    """Raised with the response to send instead of the normal answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass
class Caller:
    token: FakeToken
    headers: dict[str, str]


def state_of(request: Request) -> FakeGraphState:
    found: FakeGraphState = request.app.state.graph
    return found


def check_version(request: Request) -> None:
    version = request.path_params.get("version", "")
    if not VERSION.fullmatch(version):
        raise Refused(errors.graph_error(2500, f"Unknown path components: /{version}"))


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return request.query_params.get("access_token")


def buc_header(waba_id: str, usage: Usage) -> dict[str, str]:
    reading = {
        "type": "whatsapp_business_management",
        "call_count": usage.call_count,
        "total_cputime": usage.total_cputime,
        "total_time": usage.total_time,
        "estimated_time_to_regain_access": usage.regain_minutes,
    }
    return {"X-Business-Use-Case-Usage": json.dumps({waba_id: [reading]})}


def app_header(percent: int) -> dict[str, str]:
    return {
        "X-App-Usage": json.dumps(
            {"call_count": percent, "total_cputime": percent // 4, "total_time": percent // 2}
        )
    }


async def apply_fault(request: Request, fault: Fault | None, waba_id: str | None) -> None:
    """Answers a told-to-fail request; a slow fault only waits and lets the request go on."""
    if fault is None:
        return
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        return
    if fault.kind == "server_error":
        raise Refused(errors.server_error())
    if fault.kind == "bad_gateway":
        raise Refused(HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=502))
    if fault.kind == "expired_token":
        raise Refused(errors.expired_token())
    if fault.kind == "invalid_token":
        raise Refused(errors.invalid_token())
    if fault.kind == "missing_permission":
        raise Refused(errors.missing_permission(WABA_MANAGEMENT, fault.code or 200))
    if fault.kind == "no_waba_access":
        raise Refused(errors.no_such_object(waba_id or "0", request.method))
    if fault.kind == "rate_limited":
        usage = Usage(100, 100, 100, fault.regain_minutes, throttled=True)
        raise Refused(errors.waba_rate_limited(fault.code or 80007, buc_header(waba_id or "0", usage)))
    raise Refused(errors.app_rate_limited(app_header(100)))


def valid_token(state: FakeGraphState, value: str | None) -> FakeToken:
    if not value:
        raise Refused(
            errors.graph_error(
                2500, "An active access token must be used to query information about the current user."
            )
        )
    with state.lock:
        token = state.tokens.get(value)
    if token is None or token.revoked:
        raise Refused(errors.invalid_token())
    if token.expired(state.clock()):
        raise Refused(errors.expired_token())
    return token


async def waba_caller(request: Request) -> tuple[Caller, FakeWaba]:
    """Checks a call on ``/{version}/{waba_id}/…`` the way Graph does, counting it against the quotas."""
    state = state_of(request)
    check_version(request)
    waba_id: str = request.path_params["waba_id"]
    await apply_fault(request, state.take_fault(request.method, request.url.path), waba_id)
    token = valid_token(state, bearer(request))
    headers = app_header(state.count_app_call(token.app_id))
    if WABA_MANAGEMENT not in token.scopes:
        raise Refused(errors.missing_permission(WABA_MANAGEMENT))
    with state.lock:
        waba = state.wabas.get(waba_id)
    if waba is None or not token.can_manage(waba_id):
        raise Refused(errors.no_such_object(waba_id, request.method))
    usage = state.count_waba_call(token.app_id, waba)
    headers.update(buc_header(waba_id, usage))
    if usage.throttled:
        raise Refused(errors.waba_rate_limited(80007, headers))
    return Caller(token, headers), waba


async def form_or_json(request: Request) -> dict[str, str]:
    """Graph takes parameters as a query string, a form or a JSON body alike."""
    values: dict[str, str] = dict(request.query_params)
    body = await request.body()
    if not body:
        return values
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            raise Refused(errors.bad_parameter("(#100) The request body is not valid JSON")) from exc
        if isinstance(parsed, dict):
            values.update({k: str(v) for k, v in parsed.items()})
        return values
    form = await request.form()
    values.update({k: v for k, v in form.items() if isinstance(v, str)})
    return values
