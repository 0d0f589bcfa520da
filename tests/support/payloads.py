"""Webhook bodies as Meta sends them: its example payloads (tests/fixtures/meta, copied from the
project's shared fixtures, sources in SPEC.md there) and builders for entries and changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

META_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "meta"
FIXTURES = META_FIXTURES
WABA_ID = "102290129340398"  # entry.id of most of Meta's examples


def fixture(name: str) -> dict[str, Any]:
    """One of Meta's example payloads (shared/fixtures/meta/<name>.json), as a fresh dict."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def changes_of(name: str) -> list[dict[str, Any]]:
    return copy.deepcopy(fixture(name)["entry"][0]["changes"])


def entry(entry_id: str, changes: list[dict[str, Any]], time: int | None = 1_748_454_394) -> dict[str, Any]:
    found: dict[str, Any] = {"id": entry_id, "changes": changes}
    if time is not None:
        found["time"] = time
    return found


def body(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def name_change(name: str) -> dict[str, Any]:
    """Meta's approved display-name change, for ``name`` (which the parser puts in the summary)."""
    change = changes_of("phone_number_name_update__approved")[0]
    change["value"]["requested_verified_name"] = name
    return change


def quality_change(event: str, current_limit: str, display: str = "15550783881") -> dict[str, Any]:
    return {
        "field": "phone_number_quality_update",
        "value": {"display_phone_number": display, "event": event, "current_limit": current_limit},
    }


def body_for(n: int, marker: str = "") -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "time": 1700000000 + n,
                "changes": [{"field": "security", "value": {"n": n, "m": marker}}],
            }
        ],
    }
    return json.dumps(payload, separators=(",", ":")).encode()
