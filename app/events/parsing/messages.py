"""``messages`` and the other message-family fields (echoes, history, contact sync, user
preferences, automatic events).

These carry people's messages and contacts. Nothing they say reaches a summary or details: no text
bodies, captions, contact names or customer numbers of incoming messages. The timeline gets health
signals (statuses, errors) and counts.

A ``messages`` change may return several events, because one change can carry independent things:
one event per ``statuses[]`` item (each is another message, with its own time, recipient and
errors), one for ``value.errors`` (system/app-level errors), and one counting ``messages[]``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.events.parsed import ParsedEvent
from app.events.parsing.common import Change, Phone, items, short, slug, sub, text, timestamp
from app.lib import phones

_PAST = {"add": "added", "remove": "removed"}
_STATUSES = {
    "sent": "Message sent to",
    "delivered": "Message delivered to",
    "read": "Message read by",
    "played": "Voice message played by",  # first play of a voice message
}


def _tally(counts: Counter[str]) -> str:
    """ "2 text, 1 image" (kinds in name order)."""
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in sorted(counts.items()))


def _business_phone(change: Change) -> Phone:
    metadata = sub(change.value, "metadata")
    return Phone.of(text(metadata, "display_phone_number"), text(metadata, "phone_number_id"))


def _errors(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Meta's error objects without anything but Meta's own words (code, title, message, details)."""
    return [
        {
            "code": text(error, "code"),
            "title": text(error, "title"),
            "message": text(error, "message"),
            "details": text(sub(error, "error_data"), "details"),
            "href": text(error, "href"),
        }
        for error in raw
    ]


def _error_line(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    words = first["title"] or first["message"] or "no description"
    line = f"({first['code']}) {short(words, 120)}" if first["code"] else short(words, 120)
    if first["details"] and first["details"] != words:
        line += f" — {short(first['details'], 120)}"
    if len(errors) > 1:
        line += f" (+{len(errors) - 1} more)"
    return line


def _recipient(raw: str | None, kind: str | None) -> str:
    if raw is None:
        return "(recipient not given)"
    if kind == "group":
        return f"group {short(raw, 40)}"
    number = phones.digits(raw)
    return phones.pretty(number) if number else short(raw, 40)


def _status_event(change: Change, status: dict[str, Any], phone: Phone) -> ParsedEvent:
    name = text(status, "status") or "unknown"
    kind = f"status_{slug(name)}"
    recipient = text(status, "recipient_id")
    whom = _recipient(recipient, text(status, "recipient_type"))
    errors = _errors(items(status, "errors"))
    lowered = name.lower()
    if lowered == "failed":
        summary = f"Message to {whom} failed"
    elif lowered in _STATUSES:
        summary = f"{_STATUSES[lowered]} {whom}"
    else:
        summary = f"Message to {whom}: unrecognised status “{short(name, 40)}”"
    if errors:
        summary += f": {_error_line(errors)}"
    pricing, conversation = sub(status, "pricing"), sub(status, "conversation")
    details: dict[str, Any] = {"message_id": text(status, "id"), "status": name, "recipient_id": recipient}
    if text(status, "recipient_type"):
        details["recipient_type"] = text(status, "recipient_type")
    if errors:
        details["errors"] = errors
    if pricing:
        details["pricing"] = {key: text(pricing, key) for key in ("pricing_model", "type", "category")}
    if conversation:
        details["conversation"] = {
            "id": text(conversation, "id"),
            "origin": text(sub(conversation, "origin"), "type"),
        }
    return change.event(
        kind, summary, occurred_at=change.when(status.get("timestamp")), phone=phone, details=details
    )


def _incoming_event(change: Change, messages: list[dict[str, Any]], phone: Phone) -> ParsedEvent:
    types = Counter(slug(text(message, "type") or "unknown") for message in messages)
    count = len(messages)
    summary = f"{count} incoming message{'s' if count != 1 else ''} ({_tally(types)}) to {phone.label}"
    errors = _errors([error for message in messages for error in items(message, "errors")])
    details: dict[str, Any] = {
        "count": count,
        "types": dict(sorted(types.items())),
        "message_ids": [text(message, "id") for message in messages],
    }
    if errors:
        details["errors"] = errors
        summary += f"; {_error_line(errors)}"
    times = [moment for message in messages if (moment := timestamp(message.get("timestamp")))]
    return change.event(
        "incoming_message",
        summary,
        occurred_at=max(times) if times else None,
        phone=phone,
        details=details,
    )


def parse_messages(change: Change) -> list[ParsedEvent]:
    value, phone = change.value, _business_phone(change)
    events = [_status_event(change, status, phone) for status in items(value, "statuses")]
    errors = _errors(items(value, "errors"))
    if errors:
        events.append(
            change.event(
                "errors",
                f"Error on {phone.label}: {_error_line(errors)}",
                phone=phone,
                details={"errors": errors},
            )
        )
    incoming = items(value, "messages")
    if incoming:
        events.append(_incoming_event(change, incoming, phone))
    if not events:
        return [change.malformed("without statuses, errors or messages", phone)]
    return events


def _count_event(
    change: Change, key: str, kind: str, noun: str, time_key: str = "timestamp"
) -> list[ParsedEvent]:
    """One event counting the items of ``value[key]``, dated by the newest item."""
    phone = _business_phone(change)
    entries = items(change.value, key)
    if not entries:
        return [change.malformed(f"without “{key}”", phone)]
    times = [moment for entry in entries if (moment := timestamp(entry.get(time_key)))]
    count = len(entries)
    return [
        change.event(
            kind,
            f"{count} {noun}{'s' if count != 1 else ''} on {phone.label}",
            occurred_at=max(times) if times else None,
            phone=phone,
            details={"count": count},
        )
    ]


def parse_message_echoes(change: Change) -> list[ParsedEvent]:
    field_key = "message_echoes"
    return _count_event(change, field_key, "message_echo", "message sent from the WhatsApp Business app")


def parse_state_sync(change: Change) -> list[ParsedEvent]:
    phone = _business_phone(change)
    entries = items(change.value, "state_sync")
    if not entries:
        return [change.malformed("without “state_sync”", phone)]
    actions = Counter(
        f"{slug(text(entry, 'type') or 'item')}_{_PAST.get(text(entry, 'action') or '', 'synced')}"
        for entry in entries
    )
    times = [moment for entry in entries if (moment := timestamp(sub(entry, "metadata").get("timestamp")))]
    words = _tally(actions)
    return [
        change.event(
            "state_sync",
            f"WhatsApp Business app sync on {phone.label}: {words}",
            occurred_at=max(times) if times else None,
            phone=phone,
            details={"count": len(entries), "actions": dict(sorted(actions.items()))},
        )
    ]


def parse_history(change: Change) -> list[ParsedEvent]:
    phone = _business_phone(change)
    chunks = items(change.value, "history")
    if not chunks:
        return [change.malformed("without “history”", phone)]
    errors = _errors([error for chunk in chunks for error in items(chunk, "errors")])
    if errors:
        declined = any(error["code"] == "2593109" for error in errors)
        kind = "sync_declined" if declined else "sync_error"
        summary = (
            f"History sync {'declined' if declined else 'failed'} for {phone.label}: {_error_line(errors)}"
        )
        return [change.event(kind, summary, phone=phone, details={"errors": errors})]
    metadata = [sub(chunk, "metadata") for chunk in chunks]
    threads = [thread for chunk in chunks for thread in items(chunk, "threads")]
    message_count = sum(len(items(thread, "messages")) for thread in threads)
    progress = [text(meta, "progress") for meta in metadata if text(meta, "progress")]
    details = {
        "threads": len(threads),
        "messages": message_count,
        "phase": text(metadata[0], "phase"),
        "chunk_order": text(metadata[0], "chunk_order"),
        "progress": progress[-1] if progress else None,
    }
    summary = f"History sync for {phone.label}: {len(threads)} threads, {message_count} messages"
    if details["progress"]:
        summary += f" ({short(details['progress'], 10)}%)"
    return [change.event("sync_progress", summary, phone=phone, details=details)]


def parse_user_preferences(change: Change) -> list[ParsedEvent]:
    phone = _business_phone(change)
    entries = items(change.value, "user_preferences")
    if not entries:
        return [change.malformed("without “user_preferences”", phone)]
    choices = Counter(
        f"{slug(text(entry, 'category') or 'preference')}_{slug(text(entry, 'value') or 'unknown')}"
        for entry in entries
    )
    kind = next(iter(choices)) if len(choices) == 1 else "preferences_updated"
    words = ", ".join(
        f"{n} user{'s' if n != 1 else ''} {_choice_words(choice)}" for choice, n in sorted(choices.items())
    )
    times = [moment for entry in entries if (moment := timestamp(entry.get("timestamp")))]
    return [
        change.event(
            kind,
            f"User preferences on {phone.label}: {words}",
            occurred_at=max(times) if times else None,
            phone=phone,
            details={"count": len(entries), "choices": dict(sorted(choices.items()))},
        )
    ]


def parse_automatic_events(change: Change) -> list[ParsedEvent]:
    phone = _business_phone(change)
    entries = items(change.value, "automatic_events")
    if not entries:
        return [change.malformed("without “automatic_events”", phone)]
    names = Counter(_snake(text(entry, "event_name") or "unknown") for entry in entries)
    kind = next(iter(names)) if len(names) == 1 else "automatic_events"
    words = _tally(names)
    times = [moment for entry in entries if (moment := timestamp(entry.get("timestamp")))]
    return [
        change.event(
            kind,
            f"Automatic events on {phone.label}: {words}",
            occurred_at=max(times) if times else None,
            phone=phone,
            details={"count": len(entries), "events": dict(sorted(names.items()))},
        )
    ]


def _choice_words(choice: str) -> str:
    """ "marketing_messages_resume" -> "resumed marketing messages"."""
    category, _, value = choice.rpartition("_")
    verb = {"stop": "stopped", "resume": "resumed"}.get(value, f"chose {value} for")
    return f"{verb} {category.replace('_', ' ')}"


def _snake(name: str) -> str:
    """ "LeadSubmitted" -> "lead_submitted"."""
    spaced = "".join(f"_{char}" if char.isupper() else char for char in name)
    return slug(spaced)
