"""Template fields: status, quality, category and component updates. One event per change.

``message_template_id`` arrives as a JSON number; details keep it as a string so that ids beyond
2^53 stay exact wherever the JSON is read.
"""

from __future__ import annotations

from typing import Any

from app.events.parsed import ParsedEvent
from app.events.parsing.common import Change, short, slug, sub, text, words

_STATUS_EVENTS = frozenset(
    {
        "APPROVED",
        "ARCHIVED",
        "UNARCHIVED",
        "DELETED",
        "DISABLED",
        "FLAGGED",
        "IN_APPEAL",
        "LIMIT_EXCEEDED",
        "LOCKED",
        "PAUSED",
        "PENDING",
        "REINSTATED",
        "PENDING_DELETION",
        "REJECTED",
    }
)
_QUALITY_SCORES = frozenset({"GREEN", "YELLOW", "RED", "UNKNOWN"})


def _template(value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The template's label for summaries ("“order_confirmation” (en_US)") and its identifying details."""
    name, language = text(value, "message_template_name"), text(value, "message_template_language")
    template_id = text(value, "message_template_id")
    label = f"“{short(name, 60)}”" if name else f"{template_id or '(id not given)'}"
    if language:
        label += f" ({short(language, 20)})"
    return label, {"template_id": template_id, "template_name": name, "language": language}


def parse_status_update(change: Change) -> list[ParsedEvent]:
    value = change.value
    event = text(value, "event")
    if event is None:
        return [change.malformed("without an “event”")]
    if event not in _STATUS_EVENTS:
        return [change.unknown_value("event", event)]
    label, details = _template(value)
    reason, category = text(value, "reason"), text(value, "message_template_category")
    summary = f"Template {label} {words('template_status', event, 40)}"
    if reason and reason != "NONE":
        summary += f": {words('template_reason', reason, 40)}"
    rejection, other = sub(value, "rejection_info"), sub(value, "other_info")
    if text(rejection, "reason"):
        summary += f" — {short(text(rejection, 'reason'), 160)}"
    elif text(other, "title"):
        summary += f" ({words('template_reason', text(other, 'title'), 40)})"
    details |= {"event": event, "reason": reason, "category": category}
    if rejection:
        details["rejection"] = {key: text(rejection, key) for key in ("reason", "recommendation")}
    if other:
        details["other_info"] = {key: text(other, key) for key in ("title", "description")}
    if "disable_info" in value:
        details["disable_date"] = text(sub(value, "disable_info"), "disable_date")
    return [change.event(slug(event), summary, details=details)]


def parse_quality_update(change: Change) -> list[ParsedEvent]:
    value = change.value
    new = text(value, "new_quality_score")
    if new is None:
        return [change.malformed("without a “new_quality_score”")]
    label, details = _template(value)
    previous = text(value, "previous_quality_score")
    details |= {"previous_quality_score": previous, "new_quality_score": new}
    if new not in _QUALITY_SCORES:
        return [change.unknown_value("new_quality_score", new)]
    before = words("quality", previous, 20).lower() if previous else "?"
    summary = f"Template {label} quality {before} → {words('quality', new, 20).lower()}"
    return [change.event(f"quality_{new.lower()}", summary, details=details)]


def parse_category_update(change: Change) -> list[ParsedEvent]:
    value = change.value
    new = text(value, "new_category")
    if new is None:
        return [change.malformed("without a “new_category”")]
    label, details = _template(value)
    previous, correct = text(value, "previous_category"), text(value, "correct_category")
    details |= {"previous_category": previous, "new_category": new}
    if correct:
        # Impending change: new_category is today's category, correct_category the one in 24 h.
        details |= {"correct_category": correct, "update_at": text(value, "category_update_timestamp")}
        summary = (
            f"Template {label} will change category "
            f"{words('template_category', new, 30)} → {words('template_category', correct, 30)}"
        )
        return [change.event("category_change_pending", summary, details=details)]
    before = words("template_category", previous, 30) if previous else "?"
    summary = f"Template {label} category changed {before} → {words('template_category', new, 30)}"
    return [change.event("category_changed", summary, details=details)]


def parse_components_update(change: Change) -> list[ParsedEvent]:
    value = change.value
    if text(value, "message_template_id") is None and text(value, "message_template_name") is None:
        return [change.malformed("without a template id or name")]
    label, details = _template(value)
    buttons = [
        text(button, "message_template_button_type") or "UNKNOWN"
        for button in value.get("message_template_buttons") or []
        if isinstance(button, dict)
    ]
    details |= {"title": text(value, "message_template_title"), "button_types": buttons}
    details |= {"has_footer": "message_template_footer" in value}
    summary = f"Template {label} components updated"
    return [change.event("components_updated", summary, details=details)]
