"""What an alert says, independent of how it is sent (mail or Slack).

Built from the outbox row's payload, a snapshot taken when the row was enqueued (the event may be
reprocessed or purged later). Every text here may come from a webhook payload: renderers escape it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.lib import phones, words
from app.lib.timeutil import when
from app.lib.vocabulary import say


@dataclass(frozen=True)
class AlertMessage:
    kind: str  # DeliveryKind
    title: str
    org_name: str
    severity: str | None = None  # info, warning, critical
    summary: str = ""
    facts: tuple[tuple[str, str], ...] = ()  # (label, value) shown in order
    link_path: str | None = None  # path + query under BASE_URL
    link_label: str = "Open in wabawatch"
    items: tuple[str, ...] = field(default_factory=tuple)  # digest lines


def humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize() or "Event"


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return "" if value is None else str(value)


def waba_of(payload: dict[str, Any]) -> str:
    """ "Lucky Shrub (102290129340398)", "WABA 102290129340398" without a name, "no WABA" without an id."""
    return words.waba_label(payload.get("waba_name") or None, _text(payload, "waba_id"))


def phone_of(payload: dict[str, Any]) -> str | None:
    return phones.pretty(_text(payload, "phone")) if payload.get("phone") else None


def event_facts(payload: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    field_name, kind = _text(payload, "field"), _text(payload, "kind")
    facts = [
        ("WABA", waba_of(payload)),
        ("Phone number", phone_of(payload) or "none named by Meta"),
        ("Severity", _text(payload, "severity")),
        ("When", when(_text(payload, "occurred_at"))),
        ("About", f"{say('field', field_name).capitalize()} ({field_name} / {kind})"),
    ]
    return tuple(facts)


def event_title(payload: dict[str, Any]) -> str:
    """Which WABA and number, then what happened: the WABA comes first so that a mail subject cut
    short still says which account."""
    where = waba_of(payload)
    what = _text(payload, "summary") or humanize(_text(payload, "kind"))
    phone = phone_of(payload)
    if phone is not None and phone not in what:  # most summaries name their number already
        where += f" · {phone}"
    return f"{where}: {what}"


def message_for(kind: str, payload: dict[str, Any], *, org_name: str) -> AlertMessage:
    """The message of an outbox row (see ``app.alerts.outbox`` for the payloads)."""
    if kind in ("alert", "followup"):
        title = event_title(payload)
        summary = _text(payload, "summary")
        if kind == "followup":
            count = int(payload.get("count", 0) or 0)
            minutes = int(payload.get("window_minutes", 0) or 0)
            title = f"{title} (and {count} more)"
            summary = f"and {count} more like this in the last {minutes} minutes. Latest: {summary}"
        return AlertMessage(
            kind=kind,
            title=title,
            org_name=org_name,
            severity=_text(payload, "severity") or None,
            summary=summary,
            facts=event_facts(payload),
            link_path=_text(payload, "link") or None,
        )
    if kind == "digest":
        items = tuple(str(item) for item in payload.get("items", []) if isinstance(item, str))
        total = int(payload.get("count", len(items)) or 0)
        return AlertMessage(
            kind=kind,
            title=f"Daily digest: {total} alerts",
            org_name=org_name,
            summary=f"{total} alerts matched your rules in the last day.",
            items=items,
            link_path=_text(payload, "link") or None,
        )
    # test and notice
    return AlertMessage(
        kind=kind,
        title=_text(payload, "title") or "wabawatch",
        org_name=org_name,
        summary=_text(payload, "summary"),
        link_path=_text(payload, "link") or None,
        link_label=_text(payload, "link_label") or "Open in wabawatch",
    )
