"""Typed views of what the Graph API answers (SPEC.md §4, §6). ``raw`` keeps the whole answer.

Unknown or missing values become empty strings rather than errors: Meta adds enum values and
fields without notice, and the dashboard shows whatever arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WABA_MANAGEMENT = "whatsapp_business_management"


def _str(value: Any) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)


def obj(value: Any) -> dict[str, Any]:
    """``value`` when Graph sent an object there, else an empty one."""
    return value if isinstance(value, dict) else {}


def _epoch(value: Any) -> datetime | None:
    """Meta writes "never" as 0."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


@dataclass(frozen=True)
class WabaInfo:
    id: str
    name: str
    currency: str
    timezone_id: str
    account_review_status: str
    business_verification_status: str
    status: str
    can_send_message: str  # health_status: AVAILABLE | LIMITED | BLOCKED
    owner_business_id: str
    owner_business_name: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_graph(cls, data: dict[str, Any]) -> WabaInfo:
        health = obj(data.get("health_status"))
        owner = obj(data.get("owner_business_info"))
        return cls(
            id=_str(data.get("id")),
            name=_str(data.get("name")),
            currency=_str(data.get("currency")),
            timezone_id=_str(data.get("timezone_id")),
            account_review_status=_str(data.get("account_review_status")),
            business_verification_status=_str(data.get("business_verification_status")),
            status=_str(data.get("status")),
            can_send_message=_str(health.get("can_send_message")),
            owner_business_id=_str(owner.get("id")),
            owner_business_name=_str(owner.get("name")),
            raw=data,
        )


@dataclass(frozen=True)
class PhoneNumberInfo:
    id: str
    display_phone_number: str
    verified_name: str
    name_status: str
    quality_rating: str
    messaging_limit_tier: str
    code_verification_status: str
    status: str
    platform_type: str
    throughput_level: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_graph(cls, data: dict[str, Any]) -> PhoneNumberInfo:
        throughput = obj(data.get("throughput"))
        tier = data.get("whatsapp_business_manager_messaging_limit") or data.get("messaging_limit_tier")
        return cls(
            id=_str(data.get("id")),
            display_phone_number=_str(data.get("display_phone_number")),
            verified_name=_str(data.get("verified_name")),
            name_status=_str(data.get("name_status")),
            quality_rating=_str(data.get("quality_rating")),
            messaging_limit_tier=_str(tier),
            code_verification_status=_str(data.get("code_verification_status")),
            status=_str(data.get("status")),
            platform_type=_str(data.get("platform_type")),
            throughput_level=_str(throughput.get("level")),
            raw=data,
        )


@dataclass(frozen=True)
class AppInfo:
    """The app node (``GET /{app-id}?fields=id,name,business``); ``business_id`` is empty when no
    business portfolio owns the app (Graph then leaves the field out)."""

    id: str
    name: str
    business_id: str
    business_name: str

    @classmethod
    def from_graph(cls, data: dict[str, Any]) -> AppInfo:
        business = obj(data.get("business"))
        return cls(
            id=_str(data.get("id")),
            name=_str(data.get("name")),
            business_id=_str(business.get("id")),
            business_name=_str(business.get("name")),
        )


@dataclass(frozen=True)
class SubscribedApp:
    app_id: str
    name: str
    link: str
    override_callback_uri: str | None

    @classmethod
    def from_graph(cls, data: dict[str, Any]) -> SubscribedApp:
        app = obj(data.get("whatsapp_business_api_data"))
        return cls(
            app_id=_str(app.get("id")),
            name=_str(app.get("name")),
            link=_str(app.get("link")),
            override_callback_uri=_str(data.get("override_callback_uri")) or None,
        )


@dataclass(frozen=True)
class TokenInfo:
    """debug_token's answer. ``granted`` maps a scope to its target ids (None: every asset)."""

    is_valid: bool
    app_id: str
    application: str
    type: str
    user_id: str
    scopes: tuple[str, ...]
    granted: dict[str, tuple[str, ...] | None]
    expires_at: datetime | None
    error_code: int | None
    error_subcode: int | None
    error_message: str

    @classmethod
    def from_graph(cls, data: dict[str, Any]) -> TokenInfo:
        granted: dict[str, tuple[str, ...] | None] = {}
        for item in data.get("granular_scopes") or []:
            if isinstance(item, dict) and item.get("scope"):
                targets = item.get("target_ids")
                granted[str(item["scope"])] = (
                    tuple(str(t) for t in targets) if isinstance(targets, list) else None
                )
        error = obj(data.get("error"))
        return cls(
            is_valid=data.get("is_valid") is True,
            app_id=_str(data.get("app_id")),
            application=_str(data.get("application")),
            type=_str(data.get("type")),
            user_id=_str(data.get("user_id")),
            scopes=tuple(str(s) for s in data.get("scopes") or []),
            granted=granted,
            expires_at=_epoch(data.get("expires_at")),
            error_code=error.get("code") if isinstance(error.get("code"), int) else None,
            error_subcode=error.get("subcode") if isinstance(error.get("subcode"), int) else None,
            error_message=_str(error.get("message")),
        )

    @property
    def waba_ids(self) -> tuple[str, ...]:
        """The WABAs the token may manage, newest grant first (empty when it may manage all it can see)."""
        return self.granted.get(WABA_MANAGEMENT) or ()

    def problem_with(self, waba_id: str, *, app_id: str | None = None) -> str | None:
        """Why this token cannot manage ``waba_id`` for ``app_id``, in words; None when it can."""
        if not self.is_valid:
            reason = f" ({self.error_message})" if self.error_message else ""
            return f"The access token is not valid{reason}. Create a new token and connect again."
        if app_id is not None and self.app_id != app_id:
            return f"The access token belongs to app {self.app_id}, not to app {app_id}. Use a token of app {app_id}."
        if WABA_MANAGEMENT not in self.scopes:
            return (
                f"The access token lacks the {WABA_MANAGEMENT} permission. Grant it and create a new token."
            )
        targets = self.granted.get(WABA_MANAGEMENT)
        if targets is not None and waba_id not in targets:
            return (
                f"The access token has no access to WABA {waba_id}. "
                "Give the system user this WABA in Business Settings, then create a new token."
            )
        return None
