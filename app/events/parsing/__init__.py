"""The webhook change parser: one ``entry[].changes[]`` item in, typed ``ParsedEvent``s out.

Pure code (no database, no I/O). ``parse_change`` never raises and never returns an empty list:
an unknown field, an unknown enum value or a malformed value becomes a generic event that keeps the
raw JSON in ``details["raw"]`` (except for message-family fields, whose raw values carry people's
messages: there only the value's keys are kept). Severities come from ``app.events.severity``.

Kinds (lowercase snake_case, stable). Generic: ``unknown`` (unknown field), ``malformed`` (value not
an object, or without the key that says what happened), and an unknown enum value lowercased.

- account_review_update: approved, rejected, pending, deferred
- account_update: the event lowercased — account_deleted, account_offboarded, account_reconnected,
  account_restriction (details: restrictions [{type, expires_at, remediation}], violation_type),
  account_violation (violation_type), disabled_update (ban {state, date}), ad_account_linked,
  auth_intl_price_eligibility_update, business_primary_location_country_update, mm_lite_terms_signed,
  partner_added, partner_app_installed, partner_app_uninstalled, partner_removed (details: waba_info
  and disconnection), partner_client_certification_status_update, volume_based_pricing_tier_update,
  verified_account
- account_alerts: the alert_type lowercased (increased_capabilities_eligibility_deferred, …, oba_approved,
  oba_rejected, profile_picture_lost)
- business_capability_update: capability_update
- message_template_status_update: the event lowercased (approved, rejected, paused, disabled, …)
- message_template_quality_update: quality_green, quality_yellow, quality_red, quality_unknown
- template_category_update: category_changed, category_change_pending
- message_template_components_update: components_updated
- messages: status_sent, status_delivered, status_read, status_played, status_failed (one event per
  status), errors (value-level errors), incoming_message (one event counting the change's messages)
- phone_number_name_update: approved, rejected, pending, deferred, in_appeal
- phone_number_quality_update: onboarding, throughput_upgrade, upgrade, downgrade, flagged, unflagged
- security: pin_changed, pin_reset_request, pin_request_success (current spelling), pin_reset_success (older)
- partner_solutions: solution_created, solution_updated
- payment_configuration_update: the status lowercased (active, needs_connecting, needs_testing)
- flows: the event lowercased (flow_status_change, endpoint_latency, endpoint_error_rate, …)
- user_preferences: <category>_<value> (marketing_messages_stop / marketing_messages_resume) or
  preferences_updated when a change mixes them
- automatic_events: the event name in snake_case (lead_submitted, purchase) or automatic_events
- history: sync_progress, sync_declined, sync_error
- smb_message_echoes: message_echo; smb_app_state_sync: state_sync
- wabawatch_test (wabawatch's own test event, never Meta's): test_event

State updates (``StateUpdate(subject, key, value)``; processing applies them when newer):

- waba review {decision}
- waba ban {state: DISABLE|SCHEDULE_FOR_DISABLE|REINSTATE, date: Meta's text}
- waba restriction {restrictions: [{type, expires_at ISO, remediation?}], expires_at: latest ISO or
  None, violation_type} — restrictions [] when Meta lifts them; a warning without restrictions sets none
- waba violation {violation_type}
- waba lifecycle {event: ACCOUNT_DELETED|ACCOUNT_OFFBOARDED|ACCOUNT_RECONNECTED}
- waba partner {event, waba_id, owner_business_id, partner_app_id?, solution_id?, …, disconnection?}
- waba capabilities {messaging_limit?, messaging_limit_per_phone?, max_phone_numbers_per_waba?,
  max_phone_numbers_per_business?} (limits as TIER_* names; numbers as strings)
- phone quality {event, flagged?}
- phone messaging_limit {tier, previous}
- phone throughput {level: HIGH, event}
- phone name {status, requested_name, reason}
- phone security {event, requester}

occurred_at is Meta's time of the thing itself where the value has one (status and message
timestamps, a volume tier's update time, a payment configuration's update time), else entry.time,
else the arrival time. Ban dates, restriction expiries and category-change times are not occurrence
times and stay in details.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from app.events.parsed import ParsedEvent, Severity
from app.events.parsing import account, business, messages, phone, templates
from app.events.parsing.common import Change, Handler, raw_details, short
from app.events.parsing.keys import change_dedup_key, routing_waba_id
from app.events.parsing.selftest import TEST_FIELD, parse_test_event

__all__ = ["change_dedup_key", "parse_change", "routing_waba_id"]

log = logging.getLogger(__name__)

HANDLERS: dict[str, Handler] = {
    "account_alerts": business.parse_account_alerts,
    "account_review_update": business.parse_account_review,
    "account_update": account.parse_account_update,
    "business_capability_update": business.parse_business_capability,
    "flows": business.parse_flows,
    "partner_solutions": business.parse_partner_solutions,
    "payment_configuration_update": business.parse_payment_configuration,
    "message_template_status_update": templates.parse_status_update,
    "message_template_quality_update": templates.parse_quality_update,
    "message_template_components_update": templates.parse_components_update,
    "template_category_update": templates.parse_category_update,
    "messages": messages.parse_messages,
    "smb_message_echoes": messages.parse_message_echoes,
    "smb_app_state_sync": messages.parse_state_sync,
    "history": messages.parse_history,
    "user_preferences": messages.parse_user_preferences,
    "automatic_events": messages.parse_automatic_events,
    "phone_number_name_update": phone.parse_name_update,
    "phone_number_quality_update": phone.parse_quality_update,
    "security": phone.parse_security,
    TEST_FIELD: parse_test_event,
}


def parse_change(
    *, field: str, value: Any, entry_id: str, entry_time: datetime | None, received_at: datetime
) -> list[ParsedEvent]:
    """Typed events for one change (usually one; ``messages`` may give several, see its module)."""
    field = field if isinstance(field, str) else str(field)
    entry_id = entry_id if isinstance(entry_id, str) else str(entry_id)
    waba_id = None
    try:
        waba_id = routing_waba_id(field, value, entry_id)
        change = Change(field, value, entry_id, entry_time, received_at, waba_id)
        handler = HANDLERS.get(field)
        if handler is None:
            return [change.unknown_field()]
        if not isinstance(value, dict):
            return [change.malformed(f"with a value that is not an object ({_json_type(value)})")]
        return handler(change) or [change.malformed("that says nothing we recognise")]
    except Exception:  # a parser bug must not stop intake; the change stays visible, generically
        log.exception("parser failed on a %s change", short(field))
        return [_fallback(field, value, entry_time or received_at, waba_id)]


def _fallback(field: str, value: Any, when: datetime, waba_id: str | None) -> ParsedEvent:
    """The last resort, built without the parser code that just failed."""
    return ParsedEvent(
        field=field,
        kind="malformed",
        severity=Severity.WARNING,
        summary=f"{short(field)} notification that could not be read",
        occurred_at=when if when.tzinfo is not None else when.replace(tzinfo=UTC),
        waba_id=waba_id,
        details=raw_details(field, value),
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
