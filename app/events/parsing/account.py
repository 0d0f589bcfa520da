"""``account_update``: one WABA-level event per change, keyed by ``value.event``.

Ban, restriction, violation and partner facts go into ``details`` and into the WABA's state.
For partner events ``entry.id`` is the partner's business portfolio; the WABA is ``waba_info.waba_id``
(see ``routing``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.events.parsed import ParsedEvent, StateUpdate
from app.events.parsing.common import (
    Change,
    Phone,
    day_or_minute,
    iso,
    items,
    short,
    slug,
    strings,
    sub,
    text,
    timestamp,
    words,
)
from app.lib.timeutil import when

EventParser = Callable[[Change, dict[str, Any], Phone], ParsedEvent]

# ACCOUNT_RESTRICTION violation types that announce the end of a Direct Send restriction.
_LIFTING_SUFFIXES = ("_UNBAN", "_RATE_LIMIT_RECOVERY")


def parse_account_update(change: Change) -> list[ParsedEvent]:
    value = change.value
    event = text(value, "event")
    if event is None:
        return [change.malformed("without an “event”")]
    phone = Phone.of(text(value, "phone_number"))
    parser = _BY_EVENT.get(event)
    if parser is None:
        return [change.unknown_value("event", event, phone)]
    return [parser(change, value, phone)]


def _simple(summary: str, state_key: str | None = None) -> EventParser:
    def parse(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
        event = str(value["event"]).strip()
        state = [StateUpdate("waba", state_key, {"event": event})] if state_key else []
        return change.event(slug(event), summary, phone=phone, state=state)

    return parse


def _disabled(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
    ban = sub(value, "ban_info")
    state, date = text(ban, "waba_ban_state"), text(ban, "waba_ban_date")
    on = f" on {short(when(date), 40)}" if date else ""  # Meta's "December 03, 2026" as 2026-12-03
    if state == "DISABLE":
        summary = f"WABA disabled{on}"
    elif state == "SCHEDULE_FOR_DISABLE":
        summary = f"WABA scheduled to be disabled{on}"
    elif state == "REINSTATE":
        summary = f"WABA reinstated{on}"
    else:
        summary = f"WABA ban state changed: {short(state or 'not given')}{on}"
    info = {"state": state, "date": date}  # the date is Meta's prose ("April 17, 2025"), kept as sent
    return change.event(
        "disabled_update",
        summary,
        qualifier=state,
        phone=phone,
        details={"ban": info},
        state=[StateUpdate("waba", "ban", info)],
    )


def _restriction(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
    restrictions = []
    for item in items(value, "restriction_info"):
        expires = timestamp(item.get("expiration"))
        entry = {"type": text(item, "restriction_type"), "expires_at": iso(expires)}
        if text(item, "remediation"):
            entry["remediation"] = text(item, "remediation")
        restrictions.append((entry, expires))
    violation = text(sub(value, "violation_info"), "violation_type")
    details: dict[str, Any] = {"restrictions": [entry for entry, _ in restrictions]}
    if violation:
        details["violation_type"] = violation
    expiries = [expires for _, expires in restrictions if expires is not None]
    latest = max(expiries) if expiries else None
    if restrictions:
        qualifier = None
        summary = "WABA restricted: " + _restriction_list(restrictions)
        if violation:
            summary += f" (violation: {words('violation', violation)})"
    elif violation and violation.endswith(_LIFTING_SUFFIXES):
        qualifier = "lifted"
        summary = f"WABA restriction lifted: {words('violation', violation)}"
    else:
        qualifier = "warning"
        summary = (
            f"WABA warned: {words('violation', violation) if violation else 'restriction without details'}"
        )
    restriction_state: dict[str, Any] = {
        "restrictions": details["restrictions"],
        "expires_at": iso(latest),
        "violation_type": violation,
    }
    state = [] if qualifier == "warning" else [StateUpdate("waba", "restriction", restriction_state)]
    if violation:
        state.append(StateUpdate("waba", "violation", {"violation_type": violation}))
    return change.event(
        "account_restriction", summary, qualifier=qualifier, phone=phone, details=details, state=state
    )


def _restriction_list(restrictions: list[tuple[dict[str, Any], Any]]) -> str:
    """ "A, B until 2026-12-01" when they share an expiry, "A until X; B until Y" otherwise."""
    expiries = {expires for _, expires in restrictions}
    names = [
        words("restriction", entry["type"]) if entry["type"] else "restricted" for entry, _ in restrictions
    ]
    if len(expiries) == 1:
        (expires,) = expiries
        return ", ".join(names) + (f" until {day_or_minute(expires)}" if expires else "")
    parts = []
    for name, (_, expires) in zip(names, restrictions, strict=True):
        parts.append(name + (f" until {day_or_minute(expires)}" if expires else ""))
    return "; ".join(parts)


def _violation(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
    violation = text(sub(value, "violation_info"), "violation_type")
    on = f" ({phone.label})" if phone.digits or phone.display else ""
    return change.event(
        "account_violation",
        f"Policy violation on WABA{on}: {words('violation', violation) if violation else 'type not given'}",
        phone=phone,
        details={"violation_type": violation},
        state=[StateUpdate("waba", "violation", {"violation_type": violation})],
    )


def _waba_info(value: dict[str, Any]) -> dict[str, Any]:
    info = sub(value, "waba_info")
    details: dict[str, Any] = {
        "waba_id": text(info, "waba_id"),
        "owner_business_id": text(info, "owner_business_id"),
    }
    for key in ("partner_app_id", "solution_id", "ad_account_linked"):
        if text(info, key):
            details[key] = text(info, key)
    if "solution_partner_business_ids" in info:
        details["solution_partner_business_ids"] = strings(info, "solution_partner_business_ids")
    disconnection = sub(value, "disconnection_info")
    if disconnection:
        details["disconnection"] = {
            "reason": text(disconnection, "reason"),
            "initiated_by": text(disconnection, "initiated_by"),
        }
    return details


def _partner(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
    event = str(value["event"]).strip()
    details = _waba_info(value)
    waba = details["waba_id"] or change.entry_id
    app, solution = details.get("partner_app_id"), details.get("solution_id")
    if event == "PARTNER_ADDED":
        summary = f"WABA {waba} shared with partner" + (f" (solution {solution})" if solution else "")
    elif event == "PARTNER_REMOVED":
        summary = f"WABA {waba} unshared from partner"
        if "disconnection" in details:
            reason = details["disconnection"]
            summary += (
                f": {words('disconnection', reason['reason']) if reason['reason'] else 'reason not given'}"
            )
            summary += (
                f" (by {words('disconnection', reason['initiated_by'])})" if reason["initiated_by"] else ""
            )
    elif event == "PARTNER_APP_INSTALLED":
        summary = f"Partner app {app or '(id not given)'} installed on WABA {waba}"
    elif event == "PARTNER_APP_UNINSTALLED":
        summary = f"Partner app {app or '(id not given)'} uninstalled from WABA {waba}"
    elif event == "MM_LITE_TERMS_SIGNED":
        summary = f"Marketing Messages API terms signed for WABA {waba}"
    else:  # AD_ACCOUNT_LINKED
        ad_account = details.get("ad_account_linked") or "(id not given)"
        summary = f"Ad account {ad_account} linked to WABA {waba}"
    partner_state = {"event": event, **details}
    return change.event(
        slug(event),
        summary,
        phone=phone,
        details=details,
        state=[StateUpdate("waba", "partner", partner_state)],
    )


def _certification(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
    info = sub(value, "partner_client_certification_info")
    status = text(info, "status")
    reasons = [reason for reason in strings(info, "rejection_reasons") if reason != "NONE"]
    business = text(info, "client_business_id") or "(id not given)"
    summary = f"Partner client certification for business {business}: "
    summary += words("certification", status) if status else "status not given"
    if reasons:
        summary += " (" + ", ".join(words("certification", reason, 40) for reason in reasons) + ")"
    details = {
        "client_business_id": text(info, "client_business_id"),
        "status": status,
        "rejection_reasons": reasons,
    }
    return change.event(
        "partner_client_certification_status_update", summary, qualifier=status, phone=phone, details=details
    )


def _auth_intl(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
    info = sub(value, "auth_international_rate_eligibility")
    start = timestamp(info.get("start_time"))
    exceptions = [
        {"country_code": text(item, "country_code"), "start_time": iso(timestamp(item.get("start_time")))}
        for item in items(info, "exception_countries")
    ]
    summary = "Eligible for authentication-international rates"
    summary += f" from {day_or_minute(start)}" if start else ""
    if exceptions:
        summary += f" ({len(exceptions)} countr{'y' if len(exceptions) == 1 else 'ies'} later)"
    details = {"start_time": iso(start), "exception_countries": exceptions}
    return change.event("auth_intl_price_eligibility_update", summary, phone=phone, details=details)


def _country(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
    country = text(value, "country")
    return change.event(
        "business_primary_location_country_update",
        f"Primary business location set to {short(country or 'no country')}",
        phone=phone,
        details={"country": country},
    )


def _volume_tier(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
    info = sub(value, "volume_tier_info")
    details = {key: text(info, key) for key in ("pricing_category", "tier", "effective_month", "region")} | {
        "tier_update_time": iso(timestamp(info.get("tier_update_time")))
    }
    summary = "Volume pricing tier updated: " + " ".join(
        short(part, 40)
        for part in (
            details["pricing_category"],
            details["tier"],
            f"in {details['region']}" if details["region"] else None,
            f"from {details['effective_month']}" if details["effective_month"] else None,
        )
        if part
    )
    return change.event(
        "volume_based_pricing_tier_update",
        summary.rstrip(": "),
        phone=phone,
        occurred_at=change.when(info.get("tier_update_time")),
        details=details,
    )


def _verified(change: Change, value: dict[str, Any], phone: Phone) -> ParsedEvent:
    return change.event("verified_account", f"{phone.label} upgraded to a verified account", phone=phone)


_BY_EVENT: dict[str, EventParser] = {
    "ACCOUNT_DELETED": _simple("WABA deleted", "lifecycle"),
    "ACCOUNT_OFFBOARDED": _simple("WABA offboarded (device change or number re-registration)", "lifecycle"),
    "ACCOUNT_RECONNECTED": _simple("WABA reconnected", "lifecycle"),
    "ACCOUNT_RESTRICTION": _restriction,
    "ACCOUNT_VIOLATION": _violation,
    "AD_ACCOUNT_LINKED": _partner,
    "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE": _auth_intl,
    "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE": _country,
    "DISABLED_UPDATE": _disabled,
    "MM_LITE_TERMS_SIGNED": _partner,
    "PARTNER_ADDED": _partner,
    "PARTNER_APP_INSTALLED": _partner,
    "PARTNER_APP_UNINSTALLED": _partner,
    "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE": _certification,
    "PARTNER_REMOVED": _partner,
    "VOLUME_BASED_PRICING_TIER_UPDATE": _volume_tier,
    "VERIFIED_ACCOUNT": _verified,
}
