"""Whether Meta will send a WABA's webhooks to our app at all: the app must be owned by the WABA's
business portfolio.

Meta's "Webhooks for WhatsApp Business Accounts" page: subscribe an app owned by your business;
apps shared with your business cannot receive webhook notifications. Graph tells both sides:
the WABA's ``owner_business_info{id,name}`` and the app node's ``business{id,name}`` (read with
the app's own access token; the field is absent when no business portfolio owns the app).

The exception Meta makes is a Solution Partner (Tech Provider): its own app receives the webhooks
of client WABAs shared with its business, once the app has Advanced Access. Graph does not tell
that apart from a merely shared app with the token a client pastes, so a mismatch is a warning the
admin may accept, never a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.graph.client import GraphClient
from app.graph.nodes import WABA_MANAGEMENT, WabaInfo

STATE_KEY = "app_owner"  # the WABA's state entry that keeps the app's side of the check


@dataclass(frozen=True)
class Ownership:
    app_id: str
    app_business_id: str  # "": no business portfolio owns the app
    app_business_name: str
    waba_id: str
    waba_business_id: str  # "": Graph did not say, so nothing can be compared
    waba_business_name: str

    @property
    def shared(self) -> bool:
        """True when the app is known not to be owned by the WABA's business."""
        return bool(self.waba_business_id) and self.app_business_id != self.waba_business_id

    @property
    def warning(self) -> str | None:
        """What the admin must know before (and after) connecting, in words; None when all is well."""
        if not self.shared:
            return None
        waba_owner = f"{self.waba_business_name or 'business'} ({self.waba_business_id})"
        if self.app_business_id:
            app_owner = f"is owned by {self.app_business_name or 'business'} ({self.app_business_id})"
        else:
            app_owner = "is not owned by any business portfolio"
        return (
            f"App {self.app_id} {app_owner}, but WABA {self.waba_id} belongs to {waba_owner}. "
            "Meta sends a WABA's webhooks only to apps owned by its business: an app that is merely "
            "shared with it receives no notifications, even when subscribed. Use an app owned by "
            f"{self.waba_business_name or 'that business'}, unless your business is a Solution Partner "
            f"this WABA is shared with and the app has Advanced Access to {WABA_MANAGEMENT}."
        )

    def as_state(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "app_business_id": self.app_business_id,
            "app_business_name": self.app_business_name,
            "waba_business_id": self.waba_business_id,
            "waba_business_name": self.waba_business_name,
            "warning": self.warning,
        }

    @classmethod
    def from_state(
        cls, value: dict[str, Any], *, waba_id: str, waba_business_id: str, waba_business_name: str
    ) -> Ownership:
        """The app's side as last checked, against the WABA's owner as last synced."""
        return cls(
            app_id=str(value.get("app_id") or ""),
            app_business_id=str(value.get("app_business_id") or ""),
            app_business_name=str(value.get("app_business_name") or ""),
            waba_id=waba_id,
            waba_business_id=waba_business_id,
            waba_business_name=waba_business_name,
        )


async def check(graph: GraphClient, *, app_id: str, app_secret: str, waba: WabaInfo) -> Ownership:
    """Reads the app's owner business (one app-level call) and compares it with the WABA's.
    Raises GraphError when the app node cannot be read."""
    app = await graph.get_app(app_id=app_id, app_secret=app_secret)
    return Ownership(
        app_id=app_id,
        app_business_id=app.business_id,
        app_business_name=app.business_name,
        waba_id=waba.id,
        waba_business_id=waba.owner_business_id,
        waba_business_name=waba.owner_business_name,
    )
