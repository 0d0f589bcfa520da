"""The one severity table: how urgent each (field, kind) of webhook event is.

Policy:

- **critical** — a human has to act now: the WABA is banned, scheduled for disabling, offboarded or
  deleted; a restriction is in force; the account review was rejected; someone asked to reset a
  number's two-step-verification PIN; a number was flagged or its messaging limit downgraded.
- **warning** — something degraded or a decision is worth a look: a template was rejected, paused,
  disabled or fell to yellow/red quality; a display name was rejected; a policy violation or a
  restriction warning; a failed message status or a messaging error; a partner or partner app removed;
  a PIN changed; an account alert from Meta.
- **info** — approvals, upgrades, reinstatements, capability and pricing updates, delivered/read
  statuses and incoming-message counts.

Unknown values are never dropped: a kind this table does not know is **warning** on the fields whose
enums we type (``HEALTH_FIELDS``; an unknown value there is a change Meta made that someone should
read) and **info** elsewhere. Kinds come from ``app.events.parsing`` (lowercased Meta enums).

A few kinds depend on a second Meta value (the *qualifier*): the ban state of ``disabled_update``,
whether an ``account_restriction`` imposes restrictions, warns, or lifts them, a certification status,
a Flow's status or alert state. The table lists those as (field, kind, qualifier); a qualifier the
table does not know falls back to the (field, kind) row. ``account_alerts`` carry Meta's own
severity, which ``account_alert_severity`` uses for alert types this table does not know.
"""

from __future__ import annotations

from app.events.parsed import Severity

INFO, WARNING, CRITICAL = Severity.INFO, Severity.WARNING, Severity.CRITICAL

# Fields whose values we type one by one: an unknown kind there is worth a look.
HEALTH_FIELDS = frozenset(
    {
        "account_alerts",
        "account_review_update",
        "account_update",
        "business_capability_update",
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
        "messages",
        "phone_number_name_update",
        "phone_number_quality_update",
        "security",
    }
)

_TABLE: dict[tuple[str, str], Severity] = {
    # account_review_update: decision
    ("account_review_update", "approved"): INFO,
    ("account_review_update", "pending"): INFO,
    ("account_review_update", "deferred"): WARNING,
    ("account_review_update", "rejected"): CRITICAL,
    # account_update: event (qualified rows below)
    ("account_update", "account_deleted"): CRITICAL,
    ("account_update", "account_offboarded"): CRITICAL,
    ("account_update", "account_reconnected"): INFO,
    ("account_update", "account_restriction"): CRITICAL,
    ("account_update", "account_violation"): WARNING,
    ("account_update", "disabled_update"): WARNING,
    ("account_update", "ad_account_linked"): INFO,
    ("account_update", "auth_intl_price_eligibility_update"): INFO,
    ("account_update", "business_primary_location_country_update"): INFO,
    ("account_update", "mm_lite_terms_signed"): INFO,
    ("account_update", "partner_added"): INFO,
    ("account_update", "partner_app_installed"): INFO,
    ("account_update", "partner_app_uninstalled"): WARNING,
    ("account_update", "partner_removed"): WARNING,
    ("account_update", "partner_client_certification_status_update"): WARNING,
    ("account_update", "volume_based_pricing_tier_update"): INFO,
    ("account_update", "verified_account"): INFO,
    # account_alerts: alert_type (see account_alert_severity)
    ("account_alerts", "increased_capabilities_eligibility_deferred"): WARNING,
    ("account_alerts", "increased_capabilities_eligibility_failed"): WARNING,
    ("account_alerts", "increased_capabilities_eligibility_need_more_info"): WARNING,
    ("account_alerts", "oba_approved"): INFO,
    ("account_alerts", "oba_rejected"): WARNING,
    ("account_alerts", "profile_picture_lost"): WARNING,
    # business_capability_update
    ("business_capability_update", "capability_update"): INFO,
    # message_template_status_update: event
    ("message_template_status_update", "approved"): INFO,
    ("message_template_status_update", "archived"): INFO,
    ("message_template_status_update", "unarchived"): INFO,
    ("message_template_status_update", "deleted"): INFO,
    ("message_template_status_update", "pending_deletion"): INFO,
    ("message_template_status_update", "pending"): INFO,
    ("message_template_status_update", "in_appeal"): INFO,
    ("message_template_status_update", "reinstated"): INFO,
    ("message_template_status_update", "disabled"): WARNING,
    ("message_template_status_update", "flagged"): WARNING,
    ("message_template_status_update", "limit_exceeded"): WARNING,
    ("message_template_status_update", "locked"): WARNING,
    ("message_template_status_update", "paused"): WARNING,
    ("message_template_status_update", "rejected"): WARNING,
    # message_template_quality_update: new score
    ("message_template_quality_update", "quality_green"): INFO,
    ("message_template_quality_update", "quality_unknown"): INFO,
    ("message_template_quality_update", "quality_yellow"): WARNING,
    ("message_template_quality_update", "quality_red"): WARNING,
    # template_category_update
    ("template_category_update", "category_changed"): WARNING,
    ("template_category_update", "category_change_pending"): WARNING,
    # message_template_components_update
    ("message_template_components_update", "components_updated"): INFO,
    # messages
    ("messages", "incoming_message"): INFO,
    ("messages", "status_sent"): INFO,
    ("messages", "status_delivered"): INFO,
    ("messages", "status_read"): INFO,
    ("messages", "status_played"): INFO,
    ("messages", "status_failed"): WARNING,
    ("messages", "errors"): WARNING,
    # phone_number_name_update: decision
    ("phone_number_name_update", "approved"): INFO,
    ("phone_number_name_update", "pending"): INFO,
    ("phone_number_name_update", "in_appeal"): INFO,
    ("phone_number_name_update", "deferred"): WARNING,
    ("phone_number_name_update", "rejected"): WARNING,
    # phone_number_quality_update: event
    ("phone_number_quality_update", "onboarding"): INFO,
    ("phone_number_quality_update", "throughput_upgrade"): INFO,
    ("phone_number_quality_update", "upgrade"): INFO,
    ("phone_number_quality_update", "unflagged"): INFO,
    ("phone_number_quality_update", "downgrade"): CRITICAL,
    ("phone_number_quality_update", "flagged"): CRITICAL,
    # security: event (PIN_REQUEST_SUCCESS is today's spelling of PIN_RESET_SUCCESS)
    ("security", "pin_changed"): WARNING,
    ("security", "pin_reset_request"): CRITICAL,
    ("security", "pin_request_success"): WARNING,
    ("security", "pin_reset_success"): WARNING,
    # other fields: the values that need a look; anything else there is info
    ("partner_solutions", "solution_created"): INFO,
    ("partner_solutions", "solution_updated"): INFO,
    ("payment_configuration_update", "active"): INFO,
    ("payment_configuration_update", "needs_connecting"): WARNING,
    ("payment_configuration_update", "needs_testing"): WARNING,
    ("flows", "flow_status_change"): INFO,
    ("flows", "client_error_rate"): WARNING,
    ("flows", "endpoint_error_rate"): WARNING,
    ("flows", "endpoint_latency"): WARNING,
    ("flows", "endpoint_availability"): WARNING,
    ("history", "sync_error"): WARNING,
    # wabawatch's own: subscribed, yet no webhook for the WABA's silent_after_hours (app.wabas.silence)
    ("subscription", "verified_but_silent"): WARNING,
}

_QUALIFIED: dict[tuple[str, str, str], Severity] = {
    # ban_info.waba_ban_state
    ("account_update", "disabled_update", "DISABLE"): CRITICAL,
    ("account_update", "disabled_update", "SCHEDULE_FOR_DISABLE"): CRITICAL,
    ("account_update", "disabled_update", "REINSTATE"): INFO,
    # restrictions in force (unqualified row), only a violation warning, or a lifted restriction
    ("account_update", "account_restriction", "warning"): WARNING,
    ("account_update", "account_restriction", "lifted"): INFO,
    # partner_client_certification_info.status
    ("account_update", "partner_client_certification_status_update", "APPROVED"): INFO,
    ("account_update", "partner_client_certification_status_update", "PENDING"): INFO,
    ("account_update", "partner_client_certification_status_update", "DISCARDED"): INFO,
    # partner_solutions solution_status
    ("partner_solutions", "solution_created", "REJECTED"): WARNING,
    ("partner_solutions", "solution_updated", "REJECTED"): WARNING,
    ("partner_solutions", "solution_updated", "DEACTIVATED"): WARNING,
    ("partner_solutions", "solution_updated", "PENDING_DEACTIVATION"): WARNING,
    # Flow status after a change, and Flow alerts that end
    ("flows", "flow_status_change", "BLOCKED"): CRITICAL,
    ("flows", "flow_status_change", "THROTTLED"): WARNING,
    ("flows", "client_error_rate", "DEACTIVATED"): INFO,
    ("flows", "endpoint_error_rate", "DEACTIVATED"): INFO,
    ("flows", "endpoint_latency", "DEACTIVATED"): INFO,
    ("flows", "endpoint_availability", "DEACTIVATED"): INFO,
}

_META_ALERT_SEVERITY = {"CRITICAL": CRITICAL, "WARNING": WARNING, "INFORMATIONAL": INFO}


def is_known(field: str, kind: str) -> bool:
    return (field, kind) in _TABLE


def severity_for(field: str, kind: str, qualifier: str | None = None) -> Severity:
    """Severity of an event; see the module docstring for the policy and the fallbacks."""
    if qualifier is not None:
        qualified = _QUALIFIED.get((field, kind, qualifier))
        if qualified is not None:
            return qualified
    known = _TABLE.get((field, kind))
    if known is not None:
        return known
    return WARNING if field in HEALTH_FIELDS else INFO


def account_alert_severity(kind: str, meta_severity: object, status: object) -> Severity:
    """An alert Meta marks inactive (``alert_status: NONE``) is info; an alert type this table does
    not know takes Meta's own ``alert_severity`` (warning when that is missing or unknown too)."""
    if status == "NONE":
        return INFO
    if is_known("account_alerts", kind):
        return _TABLE[("account_alerts", kind)]
    return _META_ALERT_SEVERITY.get(meta_severity if isinstance(meta_severity, str) else "", WARNING)


def known_kinds() -> frozenset[tuple[str, str]]:
    """Every (field, kind) this table rates: the core of the catalogue of kinds (``app.events.catalog``)."""
    return frozenset(_TABLE)
