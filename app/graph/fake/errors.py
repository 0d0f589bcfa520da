"""Meta's error envelope (SPEC.md §4, [GR-ERR]) as the fake answers it.

HTTP statuses vary on purpose, as they do at Meta: a client must read ``error.code``, not the status.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.responses import Response


def graph_error(
    code: int,
    message: str,
    *,
    status: int = 400,
    type_: str = "OAuthException",
    subcode: int | None = None,
    transient: bool | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient is not None:
        error["is_transient"] = transient
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    all_headers = dict(headers or {})
    if code == 190:
        all_headers["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token" "' + message + '"'
    return Response(
        json.dumps({"error": error}), status_code=status, media_type="application/json", headers=all_headers
    )


def invalid_token() -> Response:
    return graph_error(190, "Invalid OAuth access token - Cannot parse access token", status=401)


def expired_token() -> Response:
    return graph_error(
        190,
        "Error validating access token: Session has expired on Tuesday, 24-Nov-26 10:00:00 PST. "
        "The current time is Wednesday, 25-Nov-26 06:00:00 PST.",
        subcode=463,
    )


def missing_permission(permission: str, code: int = 200) -> Response:
    if code == 10:
        return graph_error(10, "(#10) Application does not have permission for this action", status=403)
    return graph_error(code, f"(#{code}) Requires {permission} permission to manage the object", status=403)


def no_such_object(node_id: str, method: str) -> Response:
    return graph_error(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{node_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        type_="GraphMethodException",
        subcode=33,
    )


def waba_rate_limited(code: int, headers: dict[str, str]) -> Response:
    message = (
        "(#80008) There have been too many calls to this WhatsApp Business account. Wait a bit and try again."
        if code == 80008
        else "(#80007) Rate limit hit for this WhatsApp Business account"
    )
    return graph_error(code, message, headers=headers, transient=True)


def app_rate_limited(headers: dict[str, str]) -> Response:
    return graph_error(4, "(#4) Application request limit reached", headers=headers, transient=True)


def server_error() -> Response:
    return graph_error(
        2, "An unexpected error has occurred. Please retry your request later.", status=500, transient=True
    )


def bad_parameter(message: str, subcode: int | None = None) -> Response:
    return graph_error(100, message, subcode=subcode)
