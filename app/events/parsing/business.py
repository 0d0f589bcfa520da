"""WABA- and business-level fields other than ``account_update``: account review, account alerts,
capabilities, partner solutions, payment configurations and Flows. One event per change."""

from __future__ import annotations

from typing import Any

from app.events.parsed import ParsedEvent, StateUpdate
from app.events.parsing.common import Change, Phone, short, slug, strings, text, words
from app.events.severity import account_alert_severity

_REVIEW_DECISIONS = frozenset({"APPROVED", "REJECTED", "PENDING", "DEFERRED"})

_ALERT_TITLES = {
    "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED": "Messaging limit increase deferred",
    "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED": "Messaging limit increase denied",
    "INCREASED_CAPABILITIES_ELIGIBILITY_NEED_MORE_INFO": "Messaging limit increase needs more information",
    "OBA_APPROVED": "Official business account approved",
    "OBA_REJECTED": "Official business account rejected",
    "PROFILE_PICTURE_LOST": "Profile picture removed",
}

# max_daily_conversation(s)_per_* as integers (legacy and v24 example payloads) -> tier names.
_TIER_BY_NUMBER = {
    50: "TIER_50",
    250: "TIER_250",
    1000: "TIER_1K",
    2000: "TIER_2K",
    10000: "TIER_10K",
    100000: "TIER_100K",
    -1: "TIER_UNLIMITED",
}


def parse_account_review(change: Change) -> list[ParsedEvent]:
    decision = text(change.value, "decision")
    if decision is None:
        return [change.malformed("without a “decision”")]
    if decision not in _REVIEW_DECISIONS:
        return [change.unknown_value("decision", decision)]
    return [
        change.event(
            slug(decision),
            f"Account review: {words('review', decision)}",
            details={"decision": decision},
            state=[StateUpdate("waba", "review", {"decision": decision})],
        )
    ]


def parse_account_alerts(change: Change) -> list[ParsedEvent]:
    value = change.value
    info = value.get("alert_info")
    alert_type = text(info, "alert_type")
    if not isinstance(info, dict) or alert_type is None:
        return [change.malformed("without “alert_info.alert_type”")]
    kind = slug(alert_type)
    status, meta_severity = text(info, "alert_status"), text(info, "alert_severity")
    description = text(info, "alert_description")
    entity_type, entity_id = text(value, "entity_type"), text(value, "entity_id")
    phone = Phone.of(number_id=entity_id) if entity_type == "PHONE_NUMBER" else Phone()
    summary = _ALERT_TITLES.get(alert_type, f"Account alert {short(alert_type)}")
    if status == "NONE":
        summary += " (no longer active)"
    if description:
        summary += f": {short(description, 200)}"
    details = {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "alert_type": alert_type,
        "alert_severity": meta_severity,
        "alert_status": status,
        "alert_description": description,
    }
    return [
        change.event(
            kind,
            summary,
            severity=account_alert_severity(kind, meta_severity, status),
            phone=phone,
            details=details,
        )
    ]


def _tier(raw: Any) -> str | None:
    """A messaging limit as its TIER_* name, whether Meta sent 2000, "2000" or "TIER_2K"."""
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        raw = int(raw.strip())
    if isinstance(raw, int) and not isinstance(raw, bool):
        return _TIER_BY_NUMBER.get(raw, str(raw))
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def parse_business_capability(change: Change) -> list[ParsedEvent]:
    value = change.value
    business_tier = _tier(value.get("max_daily_conversations_per_business"))
    phone_tier = _tier(value.get("max_daily_conversation_per_phone"))
    per_waba = text(value, "max_phone_numbers_per_waba")
    per_business = text(value, "max_phone_numbers_per_business")
    if not any((business_tier, phone_tier, per_waba, per_business)):
        return [change.malformed("without any capability")]
    capabilities = {
        "messaging_limit": business_tier,
        "messaging_limit_per_phone": phone_tier,
        "max_phone_numbers_per_waba": per_waba,
        "max_phone_numbers_per_business": per_business,
    }
    capabilities = {key: val for key, val in capabilities.items() if val is not None}
    parts = []
    if business_tier:
        parts.append(f"messaging limit {words('tier', business_tier)}")
    if phone_tier:
        parts.append(f"messaging limit {words('tier', phone_tier)} per phone number (legacy)")
    if per_waba:
        parts.append(f"up to {per_waba} phone numbers per WABA")
    if per_business:
        parts.append(f"up to {per_business} phone numbers per business")
    return [
        change.event(
            "capability_update",
            "Capabilities updated: " + ", ".join(short(part) for part in parts),
            details=capabilities,
            state=[StateUpdate("waba", "capabilities", capabilities)],
        )
    ]


def parse_partner_solutions(change: Change) -> list[ParsedEvent]:
    value = change.value
    event = text(value, "event")
    if event is None:
        return [change.malformed("without an “event”")]
    solution, status = text(value, "solution_id"), text(value, "solution_status")
    verb = {"SOLUTION_CREATED": "created", "SOLUTION_UPDATED": "updated"}.get(event)
    head = f"Partner solution {solution or '(id not given)'}"
    summary = f"{head} {verb}" if verb else f"{head}: {short(event)}"
    if status:
        summary += f", status {words('solution_status', status)}"
    details = {"event": event, "solution_id": solution, "solution_status": status}
    return [change.event(slug(event), summary, qualifier=status, details=details)]


def parse_payment_configuration(change: Change) -> list[ParsedEvent]:
    value = change.value
    status = text(value, "status")
    if status is None:
        return [change.malformed("without a “status”")]
    name, provider = text(value, "configuration_name"), text(value, "provider_name")
    label = f"“{short(name, 60)}”" if name else "(unnamed)"
    via = f" ({short(provider, 40)})" if provider else ""
    details = {
        "configuration_name": name,
        "provider_name": provider,
        "status": status,
        "updated_at": text(value, "updated_timestamp"),
    }
    return [
        change.event(
            slug(status),
            f"Payment configuration {label}{via}: {short(status, 40)}",
            occurred_at=change.when(value.get("updated_timestamp")),
            details=details,
        )
    ]


def parse_flows(change: Change) -> list[ParsedEvent]:
    value = change.value
    event = text(value, "event")
    if event is None:
        return [change.malformed("without an “event”")]
    flow, message = text(value, "flow_id"), text(value, "message")
    old, new, alert = text(value, "old_status"), text(value, "new_status"), text(value, "alert_state")
    if event == "FLOW_STATUS_CHANGE":
        summary = f"Flow {flow or '(id not given)'} status {short(old or '?', 20)} → {short(new or '?', 20)}"
        qualifier = new
    else:
        state = f" ({alert.lower()})" if alert else ""
        summary = f"Flow {flow or '(id not given)'} {slug(event).replace('_', ' ')}{state}"
        if message:
            summary += f": {short(message, 160)}"
        qualifier = alert
    keys = ("threshold", "error_rate", "p50_latency", "p90_latency", "requests_count", "availability")
    details: dict[str, Any] = {"event": event, "flow_id": flow, "message": message}
    details |= {key: value[key] for key in keys if isinstance(value.get(key), int | float)}
    details |= {"old_status": old, "new_status": new, "alert_state": alert}
    if "errors" in value:
        details["errors"] = value["errors"] if isinstance(value["errors"], list) else strings(value, "errors")
    return [change.event(slug(event), summary, qualifier=qualifier, details=details)]
