"""Realistic WABA webhook notifications, for the simulator, the demo and tests.

Shapes and enum values follow ``shared/fixtures/meta/SPEC.md`` and Meta's example payloads. Every
value is random but plausible, with "now" timestamps, so that two notifications are never the same
bytes (a receiver that deduplicates would otherwise count them once). Bytes are produced the way Meta
serialises them: compact JSON with non-ASCII escaped as ``\\uXXXX`` and ``/`` as ``\\/``.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from datetime import datetime

from app.simulator import values as v
from app.simulator.base import JSON, Change, SimPhone, SimWaba, meta_json_bytes, signature
from app.simulator.messaging import MessagingFields

__all__ = ["FIELDS", "MIX", "Change", "PayloadFactory", "SimPhone", "SimWaba", "meta_json_bytes", "signature"]

# Weights of the "realistic mix": status webhooks dominate real traffic; account signals are rarer.
MIX: dict[str, int] = {
    "messages": 30,
    "message_template_status_update": 10,
    "phone_number_quality_update": 8,
    "account_update": 8,
    "business_capability_update": 5,
    "message_template_quality_update": 5,
    "phone_number_name_update": 5,
    "security": 5,
    "account_review_update": 4,
    "account_alerts": 4,
    "template_category_update": 3,
    "message_template_components_update": 2,
    "user_preferences": 2,
    "flows": 2,
    "partner_solutions": 1,
    "payment_configuration_update": 1,
    "automatic_events": 1,
    "smb_app_state_sync": 1,
    "smb_message_echoes": 1,
    "history": 1,
}
FIELDS: tuple[str, ...] = tuple(sorted(MIX))


class PayloadFactory(MessagingFields):
    """Builds changes per field and groups them into notifications like Meta does."""

    def __init__(self, rng: random.Random | None = None, now: Callable[[], datetime] | None = None) -> None:
        super().__init__(rng, now)
        self._builders: dict[str, Callable[[SimWaba], Change]] = {
            "account_alerts": self.account_alerts,
            "account_review_update": self.account_review_update,
            "account_update": self.account_update,
            "automatic_events": self.automatic_events,
            "business_capability_update": self.business_capability_update,
            "flows": self.flows,
            "history": self.history,
            "message_template_components_update": self.template_components,
            "message_template_quality_update": self.template_quality,
            "message_template_status_update": self.template_status,
            "messages": self.messages,
            "partner_solutions": self.partner_solutions,
            "payment_configuration_update": self.payment_configuration,
            "phone_number_name_update": self.phone_name,
            "phone_number_quality_update": self.phone_quality,
            "security": self.security,
            "smb_app_state_sync": self.smb_app_state_sync,
            "smb_message_echoes": self.smb_message_echoes,
            "template_category_update": self.template_category,
            "user_preferences": self.user_preferences,
        }

    # -- notifications -------------------------------------------------------------------------

    def notification(self, wabas: Sequence[SimWaba], field: str | None = None, *, batch: bool = True) -> JSON:
        """One POST body. Without ``field``, a weighted mix; sometimes several changes and entries."""
        size = 1
        if batch and self.rng.random() < 0.2:
            size = self.rng.randint(2, 4)
        changes: list[Change] = []
        for _ in range(size * 4):  # a change identical to another one in the batch would count once
            change = self.change(field or self.pick_field(), self.rng.choice(list(wabas)))
            if change not in changes:
                changes.append(change)
            if len(changes) == size:
                break
        return self.envelope(changes)

    def envelope(self, changes: Sequence[Change]) -> JSON:
        """Groups changes by entry id, as Meta batches "changes for objects of the same type"."""
        entries: dict[str, JSON] = {}
        for change in changes:
            entry = entries.get(change.entry_id)
            if entry is None:
                entry = {"id": change.entry_id}
                if change.has_time:
                    entry["time"] = self.unix()
                entry["changes"] = []
                entries[change.entry_id] = entry
            entry["changes"].append({"value": change.value, "field": change.field})
        return {"object": "whatsapp_business_account", "entry": list(entries.values())}

    def pick_field(self) -> str:
        return self.rng.choices(list(MIX), weights=list(MIX.values()))[0]

    def change(self, field: str, waba: SimWaba) -> Change:
        builder = self._builders.get(field)
        if builder is None:  # a field we do not know: still a well-formed change
            return Change(waba.waba_id, field, {"event": "SIMULATED", "note": f"simulated {field}"})
        return builder(waba)

    # -- account-level fields ------------------------------------------------------------------

    def account_review_update(self, waba: SimWaba) -> Change:
        decision = self.pick(["APPROVED", "PENDING", "REJECTED", "DEFERRED"], [6, 2, 1, 1])
        return Change(waba.waba_id, "account_review_update", {"decision": decision})

    def account_update(self, waba: SimWaba) -> Change:
        event = self.pick(list(v.ACCOUNT_UPDATE_WEIGHTS), list(v.ACCOUNT_UPDATE_WEIGHTS.values()))
        value: JSON = {"event": event}
        entry_id = waba.waba_id
        if event == "ACCOUNT_RESTRICTION":
            value["restriction_info"] = [
                {"restriction_type": kind, "expiration": self.unix() + self.rng.randint(1, 30) * 86400}
                for kind in self.rng.sample(v.RESTRICTION_TYPES, self.rng.randint(1, 2))
            ]
        elif event == "ACCOUNT_VIOLATION":
            value["violation_info"] = {"violation_type": self.pick(v.VIOLATION_TYPES)}
        elif event == "DISABLED_UPDATE":
            state = self.pick(["SCHEDULE_FOR_DISABLE", "DISABLE", "REINSTATE"])
            value["ban_info"] = {"waba_ban_state": state, "waba_ban_date": self._now().strftime("%B %d, %Y")}
        elif event in ("PARTNER_ADDED", "PARTNER_REMOVED", "PARTNER_APP_INSTALLED", "MM_LITE_TERMS_SIGNED"):
            # Partner events arrive on the partner's business portfolio; the WABA is in waba_info.
            entry_id = waba.partner_business_id
            value["waba_info"] = {"waba_id": waba.waba_id, "owner_business_id": waba.owner_business_id}
            if event == "PARTNER_APP_INSTALLED":
                value["waba_info"]["partner_app_id"] = v.numeric_id(self.rng)
        elif event == "VOLUME_BASED_PRICING_TIER_UPDATE":
            value["volume_tier_info"] = {
                "tier_update_time": self.unix(),
                "pricing_category": self.pick(["UTILITY", "AUTHENTICATION", "MARKETING"]),
                "tier": self.pick(["1:1000000", "1000001:5000000", "25000001:50000000"]),
                "effective_month": self._now().strftime("%Y-%m"),
                "region": self.pick(["India", "Brazil", "Indonesia", "Rest of World"]),
            }
        elif event == "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE":
            value["country"] = self.pick(["US", "BR", "IN", "DE", "MX", "ID", "GB"])
        return Change(entry_id, "account_update", value)

    def account_alerts(self, waba: SimWaba) -> Change:
        alert_type, severity, description = self.pick(v.ALERTS)
        on_phone = alert_type == "PROFILE_PICTURE_LOST"
        value = {
            "entity_type": "PHONE_NUMBER" if on_phone else "BUSINESS",
            "entity_id": self.phone(waba).phone_number_id if on_phone else waba.owner_business_id,
            "alert_info": {
                "alert_severity": severity,
                "alert_status": "ACTIVE",
                "alert_type": alert_type,
                "alert_description": description,
            },
        }
        return Change(waba.waba_id, "account_alerts", value)

    def business_capability_update(self, waba: SimWaba) -> Change:
        tier = self.pick(["TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED", 2000, 10000])
        value: JSON = {"max_daily_conversations_per_business": tier}
        if self.rng.random() < 0.5:
            value["max_phone_numbers_per_waba"] = self.pick([2, 20, 25])
        return Change(waba.waba_id, "business_capability_update", value)

    def partner_solutions(self, waba: SimWaba) -> Change:
        value = {
            "event": self.pick(["SOLUTION_CREATED", "SOLUTION_UPDATED"]),
            "solution_id": v.numeric_id(self.rng),
            "solution_status": self.pick(["INITIATED", "ACTIVE", "PENDING_DEACTIVATION", "DEACTIVATED"]),
        }
        return Change(waba.partner_business_id, "partner_solutions", value)

    def payment_configuration(self, waba: SimWaba) -> Change:
        provider = self.pick(["razorpay", "payu", "billdesk", "zaakpay"])
        value = {
            "configuration_name": f"{provider}-{self.pick(['prod', 'store', 'checkout'])}",
            "provider_name": provider,
            "provider_mid": "acc_" + "".join(self.rng.choice(string.ascii_letters) for _ in range(14)),
            "status": self.pick(["Active", "Needs Connecting", "Needs Testing"]),
            "created_timestamp": self.unix() - 86400 * self.rng.randint(1, 90),
            "updated_timestamp": self.unix(),
        }
        return Change(waba.waba_id, "payment_configuration_update", value)

    # -- template fields -----------------------------------------------------------------------

    def template_status(self, waba: SimWaba) -> Change:
        name, language, category = self.template()
        event = self.pick(list(v.TEMPLATE_EVENT_WEIGHTS), list(v.TEMPLATE_EVENT_WEIGHTS.values()))
        value: JSON = {
            "event": event,
            "message_template_id": self.template_id(),
            "message_template_name": name,
            "message_template_language": language,
            "reason": None if event == "PENDING_DELETION" else "NONE",
            "message_template_category": category,
        }
        if event == "REJECTED":
            value["reason"] = self.pick(v.TEMPLATE_REJECTION_REASONS)
            if value["reason"] == "INVALID_FORMAT":
                reason, recommendation = self.pick(v.INVALID_FORMAT)
                value["rejection_info"] = {"reason": reason, "recommendation": recommendation}
        elif event == "DISABLED":
            value["disable_info"] = {"disable_date": self.unix()}
        elif event == "PAUSED":
            title = self.pick(["FIRST_PAUSE", "SECOND_PAUSE", "RATE_LIMITING_PAUSE"])
            value["other_info"] = {"title": title, "description": v.PAUSE_DESCRIPTION}
        return Change(waba.waba_id, "message_template_status_update", value)

    def template_quality(self, waba: SimWaba) -> Change:
        name, language, _ = self.template()
        previous, new = self.pick(
            [
                ("GREEN", "YELLOW"),
                ("YELLOW", "RED"),
                ("YELLOW", "GREEN"),
                ("UNKNOWN", "GREEN"),
                ("RED", "YELLOW"),
            ]
        )
        value = {
            "previous_quality_score": previous,
            "new_quality_score": new,
            "message_template_id": self.template_id(),
            "message_template_name": name,
            "message_template_language": language,
        }
        return Change(waba.waba_id, "message_template_quality_update", value)

    def template_components(self, waba: SimWaba) -> Change:
        name, language, _ = self.template()
        value = {
            "message_template_id": self.template_id(),
            "message_template_name": name,
            "message_template_language": language,
            "message_template_title": "Your order is on its way",
            "message_template_element": "Hi {{1}}, order {{2}} ships today. Questions? Tap below.",
            "message_template_footer": self.pick(v.BUSINESS_NAMES),
            "message_template_buttons": [
                {
                    "message_template_button_type": "URL",
                    "message_template_button_text": "Track order",
                    "message_template_button_url": "https://shop.example.com/track/{{1}}",
                }
            ],
        }
        return Change(waba.waba_id, "message_template_components_update", value)

    def template_category(self, waba: SimWaba) -> Change:
        name, language, category = self.template()
        other = self.pick([c for c in ("MARKETING", "UTILITY", "AUTHENTICATION") if c != category])
        value: JSON = {
            "message_template_id": self.template_id(),
            "message_template_name": name,
            "message_template_language": language,
        }
        if self.rng.random() < 0.5:  # completed
            value.update(previous_category=category, new_category=other)
        else:  # impending: new_category is the current one, correct_category applies in 24 h
            value.update(
                new_category=category, correct_category=other, category_update_timestamp=self.unix() + 86400
            )
        return Change(waba.waba_id, "template_category_update", value)

    # -- phone number fields -------------------------------------------------------------------

    def phone_name(self, waba: SimWaba) -> Change:
        decision = self.pick(["APPROVED", "PENDING", "REJECTED", "DEFERRED"], [5, 2, 2, 1])
        value = {
            "display_phone_number": self.phone(waba).digits,
            "decision": decision,
            "requested_verified_name": self.pick(v.BUSINESS_NAMES),
            "rejection_reason": self.pick(v.NAME_REJECTION_REASONS) if decision == "REJECTED" else None,
        }
        return Change(waba.waba_id, "phone_number_name_update", value)

    def phone_quality(self, waba: SimWaba) -> Change:
        event = self.pick(
            ["DOWNGRADE", "UPGRADE", "FLAGGED", "UNFLAGGED", "THROUGHPUT_UPGRADE", "ONBOARDING"]
        )
        tiers = ["TIER_250", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED"]
        at = self.rng.randrange(1, len(tiers) - 1)
        value: JSON = {"display_phone_number": self.phone(waba).digits, "event": event}
        if event == "DOWNGRADE":
            value.update(old_limit=tiers[at + 1], current_limit=tiers[at])
        elif event == "UPGRADE":
            value.update(old_limit=tiers[at - 1], current_limit=tiers[at])
        elif event == "THROUGHPUT_UPGRADE":
            value.update(current_limit="TIER_UNLIMITED")
        else:
            value.update(current_limit=tiers[at])
        value["max_daily_conversations_per_business"] = value["current_limit"]
        return Change(waba.waba_id, "phone_number_quality_update", value)

    def security(self, waba: SimWaba) -> Change:
        event = self.pick(["PIN_CHANGED", "PIN_RESET_REQUEST", "PIN_REQUEST_SUCCESS"], [3, 2, 1])
        value: JSON = {"display_phone_number": self.phone(waba).digits, "event": event}
        if event == "PIN_RESET_REQUEST":
            value["requester"] = v.numeric_id(self.rng)
        return Change(waba.waba_id, "security", value)

    def flows(self, waba: SimWaba) -> Change:
        flow_id = v.numeric_id(self.rng)
        if self.rng.random() < 0.5:
            old, new = self.pick(
                [("DRAFT", "PUBLISHED"), ("PUBLISHED", "THROTTLED"), ("PUBLISHED", "DEPRECATED")]
            )
            value: JSON = {
                "event": "FLOW_STATUS_CHANGE",
                "message": f"Flow {self.pick(v.FLOW_NAMES)} changed status from {old} to {new}",
                "flow_id": flow_id,
                "old_status": old,
                "new_status": new,
            }
        else:
            value = {
                "event": "ENDPOINT_LATENCY",
                "message": "Flow endpoint latency has reached the p90 threshold in the last 30 minutes.",
                "flow_id": flow_id,
                "p90_latency": self.rng.randint(7001, 12000),
                "p50_latency": self.rng.randint(200, 900),
                "requests_count": self.rng.randint(10, 500),
                "threshold": 7000,
                "alert_state": "ACTIVATED",
            }
        return Change(waba.waba_id, "flows", value)
