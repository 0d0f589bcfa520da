"""The fields and kinds the parser makes, for the timeline's pickers and alert rules' choices.

The lists come from the parser itself (its handlers give the fields, the severity table and the
kinds that table leaves at its default give the kinds), and a test parses every documented payload
and checks that what comes out is listed here. Meta can still send a field or a value nobody knew:
the parser keeps it (``unknown``/``malformed`` or the value lowercased), so a page accepts a name
that is in these lists **or** that the org's events already have.

Account events are every field but the message family (statuses, echoes, chat history, app state):
those are most of the traffic and bury what happened to the accounts, so the timeline shows
account events unless asked for all.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from app.events.parsing import HANDLERS
from app.events.severity import known_kinds
from app.meta.fields import ACCOUNT_FIELDS_SQL
from app.meta.fields import MESSAGE_FIELDS as MESSAGE_FIELDS  # the pages read it here

# Which fields are account events is Meta's distinction (``app.meta.fields``), also the worker's.
ACCOUNT_EVENTS_SQL = ACCOUNT_FIELDS_SQL

GENERIC_KINDS = ("malformed", "unknown")
# Kinds the severity table leaves at its default (info), so they are not rows of it.
_DEFAULT_KINDS: dict[str, tuple[str, ...]] = {
    "history": ("sync_progress", "sync_declined"),
    "smb_message_echoes": ("message_echo",),
    "smb_app_state_sync": ("state_sync",),
    "user_preferences": ("marketing_messages_stop", "marketing_messages_resume", "preferences_updated"),
    "automatic_events": ("lead_submitted", "purchase", "automatic_events"),
}


def _kinds_by_field() -> dict[str, tuple[str, ...]]:
    found: dict[str, set[str]] = {field: set() for field in HANDLERS}
    for field, kind in known_kinds():
        found.setdefault(field, set()).add(kind)
    for field, kinds in _DEFAULT_KINDS.items():
        found.setdefault(field, set()).update(kinds)
    return {field: tuple(sorted(kinds)) for field, kinds in sorted(found.items())}


KINDS_BY_FIELD: dict[str, tuple[str, ...]] = _kinds_by_field()
FIELDS: tuple[str, ...] = tuple(KINDS_BY_FIELD)
ACCOUNT_FIELDS: tuple[str, ...] = tuple(f for f in FIELDS if f not in MESSAGE_FIELDS)
KINDS: tuple[str, ...] = tuple(
    sorted({kind for kinds in KINDS_BY_FIELD.values() for kind in kinds} | set(GENERIC_KINDS))
)


def words(name: str) -> str:
    """A field or kind as words ("pin_reset_request" -> "pin reset request")."""
    return name.replace("_", " ")


def unknown_names(names: Iterable[str], known: Iterable[str]) -> list[str]:
    known_set = set(known)
    return [name for name in names if name not in known_set]


def suggestion(name: str, known: Iterable[str]) -> str:
    """ " Did you mean “security”?" for a near miss, else nothing."""
    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.75)
    return f" Did you mean “{close[0]}”?" if close else ""
