"""Phone-number fields: display-name decisions, quality/limit changes, two-step verification.

Meta identifies the number only by ``display_phone_number`` (digits, no phone_number_id) here.
One event per change.
"""

from __future__ import annotations

from app.events.parsed import ParsedEvent, StateUpdate
from app.events.parsing.common import Change, Phone, short, slug, text, words

_NAME_DECISIONS = {
    "APPROVED": "approved",
    "REJECTED": "rejected",
    "PENDING": "pending review",
    "DEFERRED": "review deferred",
    "IN_APPEAL": "in appeal",
}

_QUALITY_EVENTS = frozenset(
    {"ONBOARDING", "THROUGHPUT_UPGRADE", "UPGRADE", "DOWNGRADE", "FLAGGED", "UNFLAGGED"}
)

_SECURITY_EVENTS = {
    "PIN_CHANGED": "Two-step verification PIN changed for {phone}",
    "PIN_RESET_REQUEST": "Two-step verification PIN reset requested for {phone}",
    "PIN_REQUEST_SUCCESS": "Two-step verification PIN reset completed for {phone}",
    "PIN_RESET_SUCCESS": "Two-step verification PIN reset completed for {phone}",
}


def _phone(change: Change) -> Phone:
    return Phone.of(text(change.value, "display_phone_number"))


def parse_name_update(change: Change) -> list[ParsedEvent]:
    value, phone = change.value, _phone(change)
    decision = text(value, "decision")
    if decision is None:
        return [change.malformed("without a “decision”", phone)]
    if decision not in _NAME_DECISIONS:
        return [change.unknown_value("decision", decision, phone)]
    name, reason = text(value, "requested_verified_name"), text(value, "rejection_reason")
    shown = f"“{short(name, 60)}”" if name else "(name not given)"
    summary = f"Display name {shown} {_NAME_DECISIONS[decision]} for {phone.label}"
    if reason and decision != "APPROVED":
        summary += f": {words('name_rejection', reason)}"
    name_state = {"status": decision, "requested_name": name, "reason": reason}
    return [
        change.event(
            slug(decision),
            summary,
            phone=phone,
            details=dict(name_state),
            state=[StateUpdate("phone", "name", name_state)],
        )
    ]


def parse_quality_update(change: Change) -> list[ParsedEvent]:
    value, phone = change.value, _phone(change)
    event = text(value, "event")
    if event is None:
        return [change.malformed("without an “event”", phone)]
    if event not in _QUALITY_EVENTS:
        return [change.unknown_value("event", event, phone)]
    old, current = text(value, "old_limit"), text(value, "current_limit")
    business = text(value, "max_daily_conversations_per_business")
    tier = current or business
    summary = f"{phone.label} {_quality_phrase(event)}"
    if old and tier:
        summary += f": messaging limit {words('tier', old, 30)} → {words('tier', tier, 30)}"
    elif tier:
        summary += f": messaging limit {words('tier', tier, 30)}"
    details = {"event": event, "old_limit": old, "current_limit": current, "business_limit": business}
    state: list[StateUpdate] = []
    # Only FLAGGED and UNFLAGGED say anything about the quality rating (flagged when it drops to
    # low); the other events move the limit, and must not erase a rating an earlier one gave.
    if event == "FLAGGED":
        state.append(StateUpdate("phone", "quality", {"event": event, "flagged": True, "rating": "RED"}))
    elif event == "UNFLAGGED":
        state.append(StateUpdate("phone", "quality", {"event": event, "flagged": False}))
    if tier:
        state.append(StateUpdate("phone", "messaging_limit", {"tier": tier, "previous": old}))
    if event == "THROUGHPUT_UPGRADE":
        state.append(StateUpdate("phone", "throughput", {"level": "HIGH", "event": event}))
    return [change.event(slug(event), summary, phone=phone, details=details, state=state)]


def _quality_phrase(event: str) -> str:
    return {
        "ONBOARDING": "onboarding",
        "THROUGHPUT_UPGRADE": "throughput upgraded",
        "UPGRADE": "upgraded",
        "DOWNGRADE": "downgraded",
        "FLAGGED": "flagged for low quality",
        "UNFLAGGED": "no longer flagged",
    }[event]


def parse_security(change: Change) -> list[ParsedEvent]:
    value, phone = change.value, _phone(change)
    event = text(value, "event")
    if event is None:
        return [change.malformed("without an “event”", phone)]
    if event not in _SECURITY_EVENTS:
        return [change.unknown_value("event", event, phone)]
    requester = text(value, "requester")
    summary = _SECURITY_EVENTS[event].format(phone=phone.label)
    if requester:
        summary += f" by Business Suite user {short(requester, 40)}"
    security = {"event": event, "requester": requester}
    return [
        change.event(
            slug(event),
            summary,
            phone=phone,
            details=dict(security),
            state=[StateUpdate("phone", "security", security)],
        )
    ]
