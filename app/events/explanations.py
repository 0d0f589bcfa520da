"""What each kind of event means and what to do next, in plain words: the one table support points to.

``EXPLANATIONS`` maps (field, kind) — the kinds ``app.events.parsing`` emits — to a meaning and next
steps. ``FIELD_FALLBACKS`` covers a field's kinds not listed one by one (an enum value Meta added
later); ``GENERIC`` covers everything else (an unknown field, a malformed change). ``explain`` adds
what the event itself says: the rejection reason of a display name, who asked for a PIN reset, the
restrictions with their expiry and Meta's remediation text. Texts are plain strings: templates
escape them like any other value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.events.models import Event
from app.events.parsing.selftest import TEST_FIELD, TEST_KIND
from app.lib.timeutil import when
from app.lib.vocabulary import say_with_code


@dataclass(frozen=True)
class Explanation:
    meaning: str
    next_steps: str


@dataclass(frozen=True)
class Explained:
    meaning: str
    next_steps: str
    facts: tuple[tuple[str, str], ...] = ()  # (label, value) taken from this event's details


_E = Explanation
_REVIEW_AGAIN = (
    "Open WhatsApp Manager → Account tools → Phone numbers, pick the number, edit the display name so "
    "that it follows Meta's display name guidelines (it must relate to your business and match your "
    "branding), and submit it again; Meta reviews it again, usually within a few days."
)
_PIN_NOT_US = (
    "If nobody in your team asked for this, treat it as an attempt to take over the number: check the "
    "people and partners with access in Business Settings, remove anyone you do not know, turn on "
    "two-factor authentication for admins, and keep your own PIN private."
)
_TEMPLATE_FIX = (
    "Open the template in WhatsApp Manager → Message templates to see Meta's reason; edit and "
    "resubmit it, or request a review if you think the decision is wrong."
)
_QUALITY = (
    "Quality reflects how recipients reacted to your messages (blocks, reports, reads) over the last "
    "7 days. Send only to people who opted in, make messages relevant and expected, and make opting "
    "out easy."
)

EXPLANATIONS: dict[tuple[str, str], Explanation] = {
    (TEST_FIELD, TEST_KIND): _E(
        "A test event sent from wabawatch's set-up checklist, not by Meta: it was signed with the app "
        "secret and posted to this org's callback URL, and arrived the way Meta's notifications do.",
        "Nothing to do. It changes no state and alerts nobody; Meta's own notifications follow once the "
        "app is subscribed to the WABA.",
    ),
    ("account_review_update", "approved"): _E(
        "Meta reviewed the WhatsApp Business Account and approved it.",
        "Nothing to do; the account can send messages within its limits.",
    ),
    ("account_review_update", "pending"): _E(
        "Meta is reviewing the account.", "Wait for the decision; it arrives as another event."
    ),
    ("account_review_update", "deferred"): _E(
        "Meta postponed the account review, usually because it needs more information.",
        "Check the business details and verification status in Business Settings and complete what Meta asks for.",
    ),
    ("account_review_update", "rejected"): _E(
        "Meta rejected the account in review: it cannot send messages.",
        "Read the reason in Business Support Home, fix the business details or policy issue, and request a review there.",
    ),
    ("account_update", "account_restriction"): _E(
        "Meta restricted the account: some messaging is blocked until the restriction ends.",
        "See which actions are blocked and until when below; follow Meta's remediation, and appeal "
        "in Business Support Home if you think it is a mistake.",
    ),
    ("account_update", "account_violation"): _E(
        "Meta found a policy violation on the account. Repeated violations lead to restrictions.",
        "Read the violation in Business Support Home, fix the cause (content, opt-ins), and appeal if it is wrong.",
    ),
    ("account_update", "disabled_update"): _E(
        "The account's ban state changed: disabled, scheduled for disabling, or reinstated.",
        "If disabled or scheduled, read the reason in Business Support Home and request a review before the date.",
    ),
    ("account_update", "account_deleted"): _E(
        "The WhatsApp Business Account was deleted.", "If this was not planned, contact Meta support at once."
    ),
    ("account_update", "account_offboarded"): _E(
        "The account was offboarded from the Cloud API (migrated away or disconnected).",
        "Check with your team or partner whether the migration was intended.",
    ),
    ("account_update", "account_reconnected"): _E(
        "The account was reconnected to the Cloud API.", "Nothing to do."
    ),
    ("account_update", "partner_removed"): _E(
        "A solution partner's access to this account was removed.",
        "If unexpected, check Business Settings → Partners; messages sent through that partner stop.",
    ),
    ("account_update", "partner_app_uninstalled"): _E(
        "An app was uninstalled from this account; it no longer receives webhooks or sends messages.",
        "If it was your app, reconnect the account from wabawatch's WABA page.",
    ),
    ("account_alerts", "profile_picture_lost"): _E(
        "The business profile picture was removed.", "Upload a profile picture again in WhatsApp Manager."
    ),
    ("business_capability_update", "capability_update"): _E(
        "Meta changed what the account may do (messaging limit, numbers allowed).",
        "Nothing to do; the state shows the new limits.",
    ),
    ("message_template_status_update", "rejected"): _E("Meta rejected a message template.", _TEMPLATE_FIX),
    ("message_template_status_update", "paused"): _E(
        "A template was paused because recipients reacted badly to it.",
        "Review the template's content and audience before it is disabled; it resumes after the pause.",
    ),
    ("message_template_status_update", "disabled"): _E(
        "A template was disabled after repeated low quality.", _TEMPLATE_FIX
    ),
    ("message_template_status_update", "approved"): _E("A template was approved.", "Nothing to do."),
    ("messages", "status_failed"): _E(
        "A message could not be delivered.",
        "Read the error code below; fix the recipient, template or payment issue it names.",
    ),
    ("messages", "errors"): _E(
        "Meta reported an error processing messages.", "Read the error below; it names the cause."
    ),
    ("messages", "incoming_message"): _E(
        "Customers sent messages (counted, not shown here: they carry personal data).", "Nothing to do here."
    ),
    ("phone_number_name_update", "approved"): _E("The display name was approved.", "Nothing to do."),
    ("phone_number_name_update", "pending"): _E(
        "The display name is waiting for Meta's review.", "Wait; the decision arrives as another event."
    ),
    ("phone_number_name_update", "deferred"): _E(
        "Meta deferred the display name review.", "Make sure the business is verified, then wait or resubmit."
    ),
    ("phone_number_name_update", "in_appeal"): _E(
        "The rejected display name is being reviewed again.", "Wait for the decision."
    ),
    ("phone_number_name_update", "rejected"): _E(
        "Meta rejected the display name requested for this number; the number keeps its old name (or none).",
        _REVIEW_AGAIN,
    ),
    ("phone_number_quality_update", "downgrade"): _E(
        "The number's messaging limit was lowered after low quality.", _QUALITY
    ),
    ("phone_number_quality_update", "flagged"): _E(
        "The number's quality is low and it is flagged: if quality does not improve within 7 days its limit is lowered.",
        _QUALITY,
    ),
    ("phone_number_quality_update", "unflagged"): _E("The number is no longer flagged.", "Nothing to do."),
    ("phone_number_quality_update", "upgrade"): _E(
        "The number's messaging limit was raised.", "Nothing to do."
    ),
    ("phone_number_quality_update", "throughput_upgrade"): _E(
        "The number can now send at higher throughput.", "Nothing to do."
    ),
    ("phone_number_quality_update", "onboarding"): _E(
        "The number is new and has its starting messaging limit.", "Nothing to do."
    ),
    ("security", "pin_reset_request"): _E(
        "Someone asked to reset the number's two-step verification PIN.", _PIN_NOT_US
    ),
    ("security", "pin_changed"): _E("The number's two-step verification PIN was changed.", _PIN_NOT_US),
    ("security", "pin_request_success"): _E("A PIN reset was completed.", _PIN_NOT_US),
    ("security", "pin_reset_success"): _E("A PIN reset was completed.", _PIN_NOT_US),
}

FIELD_FALLBACKS: dict[str, Explanation] = {
    "account_update": _E(
        "Meta changed something about the account.", "Read the summary; act if it was not expected."
    ),
    "account_alerts": _E(
        "Meta sent an alert about the account.",
        "Read the alert in Business Support Home and follow its instructions.",
    ),
    "message_template_status_update": _E("A template's status changed.", _TEMPLATE_FIX),
    "message_template_quality_update": _E(
        "A template's quality rating changed (green, yellow, red).",
        "On yellow or red, review the template's content and audience before Meta pauses it.",
    ),
    "template_category_update": _E(
        "Meta changed (or will change) a template's category, which changes its price.",
        "Check the new category; edit the template if it was miscategorised.",
    ),
    "message_template_components_update": _E("A template's content was edited.", "Nothing to do."),
    "messages": _E("A message status or message notification.", "Nothing to do unless it failed."),
    "partner_solutions": _E(
        "A multi-partner solution was created or changed.",
        "Check its status with the partner if it was rejected or deactivated.",
    ),
    "payment_configuration_update": _E(
        "A payment configuration changed.", "Complete the connection or testing if Meta asks for it."
    ),
    "flows": _E(
        "A WhatsApp Flow changed status or crossed an alert threshold.",
        "Check the Flow's endpoint health in WhatsApp Manager.",
    ),
    "user_preferences": _E(
        "A customer changed their marketing message preferences.",
        "Respect it: stop or resume marketing messages.",
    ),
    "history": _E(
        "Message history sync progress from the WhatsApp Business app.", "Nothing to do unless it failed."
    ),
}

# Kinds that say the change itself could not be understood, whatever its field.
KIND_EXPLANATIONS: dict[str, Explanation] = {
    "could_not_be_read": _E(
        "wabawatch kept this notification from Meta but could not read it, even after retrying: "
        "its content is unlike what Meta documents for this field. Nothing is lost: the raw change "
        "is kept below.",
        "Read the reason and the raw change below. If the account's state looks wrong, ask support to "
        "reprocess the delivery once the cause is fixed; the real event then replaces this one.",
    ),
    "malformed": _E(
        "Meta sent a notification whose content is incomplete or not in the documented shape.",
        "Read the raw change below; if it keeps happening, check Meta's status page or developer community.",
    ),
    "unknown": _E(
        "Meta sent a notification for a field wabawatch does not know yet.",
        "Read the raw change below; Meta's webhook reference for this field explains it.",
    ),
}

GENERIC = _E(
    "An update from Meta that wabawatch shows as received (an unknown field, a new value, or a change it could not read).",
    "Read the raw change below; Meta's webhook reference for this field explains it.",
)


def explanation_for(field: str, kind: str) -> Explanation:
    return (
        EXPLANATIONS.get((field, kind))
        or KIND_EXPLANATIONS.get(kind)
        or FIELD_FALLBACKS.get(field)
        or GENERIC
    )


def _text(details: dict[str, Any], key: str) -> str | None:
    value = details.get(key)
    return str(value) if value not in (None, "") else None


def _until(value: object) -> str:
    """Meta's expiry as people read it ("2025-12-06 05:46 UTC"); none is "further notice"."""
    return when(value) if isinstance(value, str) and value else "further notice"


def _coded(kind: str, value: object) -> str:
    """Words with Meta's code beside them, for the detail page ("scam (SCAM)")."""
    return say_with_code(kind, value)


def _facts(event: Event) -> list[tuple[str, str]]:
    details: dict[str, Any] = event.details if isinstance(event.details, dict) else {}
    facts: list[tuple[str, str]] = []
    if event.kind == "could_not_be_read":
        facts.append(("Why", _text(details, "reason") or "not recorded"))
    elif event.field == "phone_number_name_update":
        if (name := _text(details, "requested_name")) is not None:
            facts.append(("Requested name", name))
        if (reason := _text(details, "reason")) is not None:
            facts.append(("Meta's reason", _coded("name_rejection", reason)))
    elif event.field == "security":
        requester = _text(details, "requester")
        facts.append(("Asked by", f"Business Suite user {requester}" if requester else "not given by Meta"))
    elif event.kind == "account_restriction":
        restrictions = details.get("restrictions")
        for item in restrictions if isinstance(restrictions, list) else []:
            if not isinstance(item, dict):
                continue
            blocked = _coded("restriction", item.get("type")) if item.get("type") else "not named by Meta"
            facts.append(("Blocked", f"{blocked} until {_until(item.get('expires_at'))}"))
            if item.get("remediation"):
                facts.append(("Meta's remediation", str(item["remediation"])))
        if (violation := _text(details, "violation_type")) is not None:
            facts.append(("Violation", _coded("violation", violation)))
    elif event.kind == "account_violation":
        if (violation := _text(details, "violation_type")) is not None:
            facts.append(("Violation", _coded("violation", violation)))
    elif event.kind == "disabled_update":
        ban = details.get("ban") if isinstance(details.get("ban"), dict) else details
        if isinstance(ban, dict):
            if ban.get("state"):
                facts.append(("Ban state", _coded("ban_state", ban["state"])))
            if ban.get("date"):
                facts.append(("Date", f"{when(ban['date'])} (Meta wrote “{ban['date']}”)"))
    elif event.field == "phone_number_quality_update":
        for key, label in (("old_limit", "Messaging limit before"), ("current_limit", "Messaging limit now")):
            if (tier := _text(details, key)) is not None:
                facts.append((label, _coded("tier", tier)))
        if (limit := _text(details, "business_limit")) is not None:
            facts.append(("Business's messaging limit", _coded("tier", limit)))
    elif event.field == "business_capability_update":
        for key, label in (
            ("messaging_limit", "Messaging limit"),
            ("messaging_limit_per_phone", "Messaging limit per number (legacy)"),
        ):
            if (tier := _text(details, key)) is not None:
                facts.append((label, _coded("tier", tier)))
    elif event.field == "account_review_update":
        if (decision := _text(details, "decision")) is not None:
            facts.append(("Decision", _coded("review", decision)))
    elif event.field == "message_template_status_update":
        if (reason := _text(details, "reason")) is not None:
            facts.append(("Meta's reason", _coded("template_reason", reason)))
    elif event.kind == "partner_removed":
        disconnection = details.get("disconnection")
        if isinstance(disconnection, dict) and disconnection.get("reason"):
            facts.append(("Why", _coded("disconnection", disconnection["reason"])))
    return facts


def explain(event: Event) -> Explained:
    base = explanation_for(event.field, event.kind)
    return Explained(base.meaning, base.next_steps, tuple(_facts(event)))
