"""The things the fake Graph API knows about, and how each looks on the wire.

Field names and values follow ``shared/fixtures/meta/SPEC.md`` §6 (WABA node, phone numbers,
health status) and §4 (subscribed_apps).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

WABA_MANAGEMENT = "whatsapp_business_management"
WABA_MESSAGING = "whatsapp_business_messaging"
BUSINESS_MANAGEMENT = "business_management"
DEFAULT_SCOPES = (WABA_MANAGEMENT, WABA_MESSAGING, BUSINESS_MANAGEMENT)
# The business portfolio that owns the fake's apps and WABAs unless told otherwise.
DEMO_BUSINESS = ("1000000000000900", "Demo Business")


@dataclass
class FakePhone:
    id: str
    display_phone_number: str
    verified_name: str
    name_status: str = "APPROVED"
    quality_rating: str = "GREEN"
    messaging_limit_tier: str = "TIER_1K"
    code_verification_status: str = "VERIFIED"
    status: str = "CONNECTED"
    throughput_level: str = "STANDARD"
    platform_type: str = "CLOUD_API"

    def as_graph(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "display_phone_number": self.display_phone_number,
            "verified_name": self.verified_name,
            "name_status": self.name_status,
            "quality_rating": self.quality_rating,
            # v24+ name, and the deprecated one older versions answer with.
            "whatsapp_business_manager_messaging_limit": self.messaging_limit_tier,
            "messaging_limit_tier": self.messaging_limit_tier,
            "code_verification_status": self.code_verification_status,
            "status": self.status,
            "platform_type": self.platform_type,
            "throughput": {"level": self.throughput_level},
        }


@dataclass
class FakeSubscription:
    app_id: str
    override_callback_uri: str | None = None
    verify_token: str | None = None


@dataclass
class FakeApp:
    id: str
    secret: str
    name: str
    # The business portfolio that owns the app; None: none does (Graph then omits ``business``).
    business_id: str | None = DEMO_BUSINESS[0]
    business_name: str = DEMO_BUSINESS[1]

    @property
    def link(self) -> str:
        return f"https://www.facebook.com/games/?app_id={self.id}"

    def as_graph(self) -> dict[str, Any]:
        node: dict[str, Any] = {"id": self.id, "name": self.name, "link": self.link}
        if self.business_id is not None:
            node["business"] = {"id": self.business_id, "name": self.business_name}
        return node


@dataclass
class FakeWaba:
    id: str
    name: str
    currency: str = "USD"
    timezone_id: str = "1"
    account_review_status: str = "APPROVED"
    business_verification_status: str = "verified"
    can_send_message: str = "AVAILABLE"
    status: str = "ACTIVE"
    owner_business_id: str = DEMO_BUSINESS[0]
    owner_business_name: str = DEMO_BUSINESS[1]
    message_template_namespace: str = "c8ae5f90_307a_ca4c_b8f6_d1e2a2573574"
    phones: list[FakePhone] = field(default_factory=list)
    subscriptions: dict[str, FakeSubscription] = field(default_factory=dict)
    # None: Meta's rule, 200 calls an hour, 5000 once a number is registered.
    hourly_limit: int | None = None

    def limit(self) -> int:
        if self.hourly_limit is not None:
            return self.hourly_limit
        return 5000 if any(p.status == "CONNECTED" for p in self.phones) else 200

    def as_graph(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "currency": self.currency,
            "timezone_id": self.timezone_id,
            "message_template_namespace": self.message_template_namespace,
            "account_review_status": self.account_review_status,
            "business_verification_status": self.business_verification_status,
            "status": self.status,
            "ownership_type": "CLIENT_OWNED",
            "owner_business_info": {"id": self.owner_business_id, "name": self.owner_business_name},
            "health_status": {
                "can_send_message": self.can_send_message,
                "entities": [
                    {"entity_type": "WABA", "id": self.id, "can_send_message": self.can_send_message}
                ],
            },
        }


@dataclass
class FakeToken:
    """An access token: which app it belongs to, its permissions and the WABAs it may act on."""

    value: str
    app_id: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    waba_ids: tuple[str, ...] = ()
    type: str = "SYSTEM_USER"
    user_id: str = "1000000000000777"
    expires_at: int = 0  # epoch seconds; 0 = never (system-user tokens)
    revoked: bool = False

    def expired(self, now: float | None = None) -> bool:
        return bool(self.expires_at) and (now if now is not None else time.time()) >= self.expires_at

    def can_manage(self, waba_id: str) -> bool:
        return waba_id in self.waba_ids

    def granular_scopes(self) -> list[dict[str, Any]]:
        """WABA scopes carry target_ids, newest grant first, as debug_token shows them."""
        found: list[dict[str, Any]] = []
        for scope in self.scopes:
            if scope in (WABA_MANAGEMENT, WABA_MESSAGING):
                found.append({"scope": scope, "target_ids": list(reversed(self.waba_ids))})
            else:
                found.append({"scope": scope})
        return found
