"""Building blocks shared by the field parsers: tolerant getters, Meta timestamps, kinds, and the
generic events every parser falls back to (so that nothing Meta sends is dropped)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.events.parsed import ParsedEvent, Severity, StateUpdate
from app.events.severity import severity_for
from app.lib import phones
from app.lib.vocabulary import say

# Fields whose values carry people's messages or contacts: their raw JSON never goes into details.
PRIVATE_FIELDS = frozenset(
    {
        "messages",
        "message_echoes",
        "smb_message_echoes",
        "smb_app_state_sync",
        "history",
        "user_preferences",
        "automatic_events",
        "calls",
    }
)

_KIND_JUNK = re.compile(r"[^a-z0-9]+")
_MAX_KIND = 100  # events.kind is String(100)
_MAX_ID = 64  # phone_numbers.display_phone_number / phone_number_id are String(64)
_SHORT = 80
# Meta's timestamps are Unix seconds; anything outside this window is not a time we can trust.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_LATEST = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


def text(mapping: Any, key: str) -> str | None:
    """A scalar at ``mapping[key]`` as a stripped non-empty string (Meta sends some ids as numbers)."""
    if not isinstance(mapping, dict):
        return None
    raw = mapping.get(key)
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        return str(raw)
    if isinstance(raw, str):
        return raw.strip() or None
    return None


def sub(mapping: Any, key: str) -> dict[str, Any]:
    """``mapping[key]`` when it is an object, else an empty one."""
    if isinstance(mapping, dict):
        raw = mapping.get(key)
        if isinstance(raw, dict):
            return raw
    return {}


def items(mapping: Any, key: str) -> list[dict[str, Any]]:
    """The objects of the list at ``mapping[key]`` (anything else in it is skipped)."""
    if isinstance(mapping, dict):
        raw = mapping.get(key)
        if isinstance(raw, list):
            return [item for item in raw if isinstance(item, dict)]
    return []


def strings(mapping: Any, key: str) -> list[str]:
    if isinstance(mapping, dict):
        raw = mapping.get(key)
        if isinstance(raw, list):
            return [str(item) for item in raw if isinstance(item, str | int) and not isinstance(item, bool)]
    return []


def timestamp(raw: Any) -> datetime | None:
    """A Meta Unix timestamp (seconds, as a number or a numeric string) as an aware UTC datetime."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            return None
    if not isinstance(raw, int | float) or raw != raw:  # NaN
        return None
    seconds = float(raw)
    if seconds > _LATEST:  # milliseconds
        seconds /= 1000
    if not _EARLIEST <= seconds < _LATEST:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def day_or_minute(moment: datetime) -> str:
    """ "2026-12-01" for a midnight, "2026-12-01 14:30 UTC" otherwise."""
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def words(kind: str, code: Any, limit: int = 60) -> str:
    """Meta's code in words (``app.lib.vocabulary``); a code we do not know, shortened, as itself."""
    return short(say(kind, code), limit)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def slug(raw: Any) -> str:
    """A Meta enum value as a stable lowercase snake_case kind ("PIN_RESET_REQUEST" -> "pin_reset_request")."""
    kind = _KIND_JUNK.sub("_", str(raw).lower()).strip("_")[:_MAX_KIND].strip("_")
    return kind or "unknown"


def short(raw: Any, limit: int = _SHORT) -> str:
    """Untrusted text for a one-line summary: one line, at most ``limit`` characters."""
    line = " ".join(str(raw).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def raw_details(field: str, value: Any) -> dict[str, Any]:
    """What generic events keep of the value: all of it, except for fields that carry people's messages."""
    if field in PRIVATE_FIELDS:
        keys = sorted(str(key) for key in value) if isinstance(value, dict) else []
        return {"value_type": type(value).__name__, "keys": keys}
    return {"raw": value}


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Phone:
    """The business number a change concerns, known by its digits, its display form, its id, or several."""

    digits: str | None = None
    display: str | None = None
    number_id: str | None = None

    @classmethod
    def of(cls, display: str | None = None, number_id: str | None = None) -> Phone:
        """A number from what Meta sent; values too long to be a number or an id are dropped, not cut."""
        display = display if display and len(display) <= _MAX_ID else None
        number_id = number_id if number_id and len(number_id) <= _MAX_ID else None
        return cls(phones.digits(display) if display else None, display, number_id)

    @property
    def label(self) -> str:
        if self.digits:
            return phones.pretty(self.digits)
        if self.display:
            return short(self.display, 40)
        if self.number_id:
            return f"phone number {self.number_id}"
        return "the phone number"


NO_PHONE = Phone()


@dataclass(frozen=True)
class Change:
    """One ``entry[].changes[]`` item with its envelope, as every field parser receives it."""

    field: str
    value: Any
    entry_id: str
    entry_time: datetime | None
    received_at: datetime
    waba_id: str | None

    def when(self, *candidates: Any) -> datetime:
        """The first usable Meta timestamp among ``candidates``, else the entry's time, else arrival."""
        for candidate in candidates:
            moment = timestamp(candidate)
            if moment is not None:
                return moment
        return aware(self.entry_time or self.received_at)

    def event(
        self,
        kind: str,
        summary: str,
        *,
        qualifier: str | None = None,
        severity: Severity | None = None,
        occurred_at: datetime | None = None,
        phone: Phone = NO_PHONE,
        details: dict[str, Any] | None = None,
        state: Iterable[StateUpdate] = (),
    ) -> ParsedEvent:
        kind = kind[:_MAX_KIND]
        return ParsedEvent(
            field=self.field,
            kind=kind,
            severity=severity if severity is not None else severity_for(self.field, kind, qualifier),
            summary=summary,
            occurred_at=occurred_at or self.when(),
            waba_id=self.waba_id,
            phone_digits=phone.digits,
            phone_number_id=phone.number_id,
            display_phone_number=phone.display,
            details=details if details is not None else {},
            state=tuple(state),
        )

    def unknown_field(self) -> ParsedEvent:
        return self.event(
            "unknown",
            f"Unrecognised webhook field “{short(self.field)}”",
            details=raw_details(self.field, self.value),
        )

    def malformed(self, what: str, phone: Phone = NO_PHONE) -> ParsedEvent:
        """The value lacks what this field always has (``what`` says what, in words)."""
        return self.event(
            "malformed",
            f"{short(self.field)} notification {what}",
            phone=phone,
            details=raw_details(self.field, self.value),
        )

    def unknown_value(self, key: str, raw: Any, phone: Phone = NO_PHONE) -> ParsedEvent:
        """A value of ``key`` this parser does not know: kept under its own lowercased kind."""
        where = f" for {phone.label}" if phone != NO_PHONE else ""
        return self.event(
            slug(raw),
            f"{self.field}: unrecognised {key} “{short(raw)}”{where}",
            phone=phone,
            details=raw_details(self.field, self.value),
        )


Handler = Callable[[Change], list[ParsedEvent]]
