"""What an alert says, independent of how it is sent (mail or Slack).

Built from the outbox row's payload, a snapshot taken when the row was enqueued (the event may be
reprocessed or purged later). Every text here may come from a webhook payload: renderers escape it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


def event_facts(payload: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    waba = _text(payload, "waba_id")
    if payload.get("waba_name"):
        waba = f"{payload['waba_name']} ({waba})"
    facts = [
        ("What happened", f"{humanize(_text(payload, 'field'))}: {_text(payload, 'kind')}"),
        ("Severity", _text(payload, "severity")),
        ("WABA", waba or "—"),
        ("Phone number", ("+" + _text(payload, "phone")) if payload.get("phone") else "—"),
        ("When", _text(payload, "occurred_at")),
    ]
    return tuple(facts)


def message_for(kind: str, payload: dict[str, Any], *, org_name: str) -> AlertMessage:
    """The message of an outbox row (see ``app.alerts.outbox`` for the payloads)."""
    if kind in ("alert", "followup"):
        title = f"{humanize(_text(payload, 'field'))}: {_text(payload, 'kind')}"
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
