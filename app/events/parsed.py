"""What the parser makes of one webhook change: the contract between parsing and processing.

The parser (``app.events.parsing``) is pure: JSON in, ``ParsedEvent`` out, no database. Processing
(``app.processing.processor``) stores the events and applies their state updates.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Severity:
        try:
            return cls[label.strip().upper()]
        except KeyError as exc:
            raise ValueError(f"severity must be info, warning or critical, not {label!r}") from exc


@dataclass(frozen=True)
class StateUpdate:
    """Set ``key`` of the WABA (subject "waba") or of the event's phone number (subject "phone")."""

    subject: Literal["waba", "phone"]
    key: str
    value: dict[str, Any]


@dataclass(frozen=True)
class ParsedEvent:
    field: str
    kind: str
    severity: Severity
    summary: str
    occurred_at: datetime
    waba_id: str | None = None
    phone_digits: str | None = None  # E.164 digits, no "+"
    phone_number_id: str | None = None
    display_phone_number: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    state: tuple[StateUpdate, ...] = ()
