"""Which WABA a change belongs to, and the key that makes the same change count once."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

# Fields whose entry.id is a business portfolio, not a WABA (SPEC.md §2.1, §3.2, §3.13).
_PORTFOLIO_FIELDS = frozenset({"account_update", "partner_solutions"})


def routing_waba_id(field: str, value: Any, entry_id: str) -> str | None:
    """The WABA id a change belongs to.

    For ``account_update`` and ``partner_solutions`` ``value.waba_info.waba_id`` wins when present
    (partner events and Embedded Signup send the partner's portfolio id as entry.id). A
    ``partner_solutions`` change without one concerns a portfolio, not a WABA: None. Every other
    field belongs to entry.id.
    """
    if field in _PORTFOLIO_FIELDS:
        info = value.get("waba_info") if isinstance(value, dict) else None
        waba = info.get("waba_id") if isinstance(info, dict) else None
        if isinstance(waba, int) and not isinstance(waba, bool):
            return str(waba)
        if isinstance(waba, str) and waba.strip():
            return waba.strip()
        if field == "partner_solutions":
            return None
    entry = str(entry_id).strip() if entry_id is not None else ""
    return entry or None


def change_dedup_key(*, field: str, entry_id: str, entry_time: datetime | None, value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of (field, entry.id, entry.time, value).

    Canonical: sorted keys, no whitespace, ASCII escapes, so the same change carried again by a retry,
    by another subscribed app's delivery or inside another batch gets the same key whatever the key
    order or spacing of the body. entry.time is part of it: Meta stamps each notification, so two
    identical values at different times are two changes (e.g. the same quality downgrade twice).
    """
    when = None
    if entry_time is not None:
        moment = entry_time if entry_time.tzinfo is not None else entry_time.replace(tzinfo=UTC)
        when = moment.astimezone(UTC).isoformat()
    document = {"field": field, "entry_id": str(entry_id), "entry_time": when, "value": value}
    try:
        canonical = json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=repr
        )
    except (TypeError, ValueError):  # not from JSON (mixed key types, cycles): still a stable key
        canonical = repr(document)
    return hashlib.sha256(canonical.encode("ascii", "backslashreplace")).hexdigest()
