"""Graph API failures as exceptions whose ``str()`` tells a person what happened and what to do.

Meta's error object (SPEC.md §4): ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id", …}}``. The code decides the kind, never the HTTP status (Meta answers 400 for
rate limits and 401, 403 or 400 for token problems).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

TOKEN_CODES = {102, 190, 2500}
PERMISSION_CODES = {3, 10, *range(200, 300)}
RATE_LIMIT_CODES = {4, 17, 32, 341, 613, 80007, 80008, 130429}
TOKEN_REASONS = {
    458: "the app was removed from the account",
    459: "the account is checkpointed",
    460: "the password was changed or the session was logged out",
    463: "it has expired",
    464: "the user is not confirmed",
    467: "it is invalid",
    492: "the session is invalid",
}
PERMISSION_NAME = re.compile(
    r"\b(whatsapp_business_management|whatsapp_business_messaging|business_management)\b"
)


@dataclass(frozen=True)
class CallContext:
    """What the client was doing, so that messages can name it."""

    action: str  # "read WABA 123", "subscribe the app to WABA 123's webhooks"
    waba_id: str | None = None
    permission: str | None = None  # the permission the call needs


class GraphError(Exception):
    """A Graph call failed. ``str(error)`` is the message for people; the rest is for code and logs."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        meta_message: str = "",
        fbtrace_id: str = "",
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.meta_message = meta_message
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status


class GraphTokenError(GraphError):
    """The access token is invalid or expired: the WABA must be connected again."""


class GraphPermissionError(GraphError):
    def __init__(self, message: str, *, permission: str | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.permission = permission


class GraphNotFound(GraphError):
    """The object does not exist, or the token cannot see it (Meta does not say which)."""


class GraphRateLimited(GraphError):
    def __init__(self, message: str, *, retry_at: datetime | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_at = retry_at


class GraphHeldBack(GraphRateLimited):
    """Not sent: wabawatch held the call back because the business is close to its limit."""


class GraphUnavailable(GraphError):
    """Meta failed (5xx), did not answer in time, or could not be reached, after the retries."""


class GraphLoginError(GraphError):
    """Meta refused the app id or the app secret (a call made with the app's own access token)."""


class GraphRequestError(GraphError):
    """Any other refusal; the message quotes Meta's."""


def when(retry_at: datetime | None, now: datetime) -> str:
    if retry_at is None:
        return "Try again later (Meta counts calls over a rolling hour)."
    minutes = max(1, round((retry_at - now) / timedelta(minutes=1)))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Try again in about {minutes} {unit} (after {retry_at:%H:%M} UTC)."


def translate(
    body: Any,
    *,
    status: int,
    context: CallContext,
    retry_at: datetime | None,
    now: datetime,
    attempts: int = 1,
) -> GraphError:
    """Turns Meta's error answer into the matching ``GraphError``."""
    error = body.get("error") if isinstance(body, dict) else None
    tries = f", {attempts} attempts" if attempts > 1 else ""
    if not isinstance(error, dict) and status >= 500:
        return GraphUnavailable(
            f"Could not {context.action}: Meta's Graph API failed (HTTP {status}{tries}). Try again in a few minutes.",
            http_status=status,
        )
    if not isinstance(error, dict):
        return GraphRequestError(
            f"Could not {context.action}: Meta answered HTTP {status} without an error description.",
            http_status=status,
        )
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    meta_message = str(error.get("error_user_msg") or error.get("message") or "")
    details: dict[str, Any] = {
        "code": code,
        "subcode": subcode,
        "meta_message": meta_message,
        "fbtrace_id": str(error.get("fbtrace_id") or ""),
        "http_status": status,
    }
    whose = f"WABA {context.waba_id}" if context.waba_id else "this call"
    if (code == 1 and "secret" in meta_message) or code == 101:
        what = "app secret" if code == 1 else "app id"
        return GraphLoginError(
            f"Meta did not accept the {what} ({meta_message}). Check the app's settings.", **details
        )
    if code in TOKEN_CODES:
        reason = TOKEN_REASONS.get(subcode or 0, "Meta did not accept it")
        if context.waba_id:
            return GraphTokenError(
                f"The access token for WABA {context.waba_id} no longer works ({reason}). "
                "Reconnect this WABA to give wabawatch a new token.",
                **details,
            )
        return GraphTokenError(f"The access token no longer works ({reason}). Connect again.", **details)
    if code in PERMISSION_CODES:
        named = PERMISSION_NAME.search(meta_message)
        permission = named.group(1) if named else context.permission
        needs = f"the {permission} permission" if permission else "a permission it has not been granted"
        return GraphPermissionError(
            f"Could not {context.action}: the access token lacks {needs} for {whose}. "
            "Reconnect this WABA and grant it.",
            permission=permission,
            **details,
        )
    if code == 100 and subcode == 33:
        return GraphNotFound(
            f"Could not {context.action}: {whose} was not found, or the access token has no access to it. "
            "Check the id, and that the system user was given this WABA in Business Settings.",
            **details,
        )
    if code in RATE_LIMIT_CODES:
        scope = "the app's hourly call limit" if code in (4, 341) else f"the call limit for {whose}"
        return GraphRateLimited(
            f"Meta is rate-limiting calls: {scope} is reached. {when(retry_at, now)}",
            retry_at=retry_at,
            **details,
        )
    if code == 368:
        return GraphRequestError(
            f"Could not {context.action}: Meta has temporarily blocked this for policy reasons ({meta_message}).",
            **details,
        )
    if status >= 500 or code in (1, 2):
        return GraphUnavailable(
            f"Could not {context.action}: Meta's Graph API failed (HTTP {status}{tries}). Try again in a few minutes.",
            **details,
        )
    return GraphRequestError(
        f"Could not {context.action}: Meta said “{meta_message}” (code {code}).", **details
    )
