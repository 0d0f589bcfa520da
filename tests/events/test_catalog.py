"""The catalogue of fields and kinds that pickers and alert rules offer is the parser's own."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from app.events import catalog
from app.events.parsing import HANDLERS, parse_change
from app.simulator import payloads
from tests.support.payloads import META_FIXTURES

RECEIVED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_every_documented_and_simulated_change_parses_to_a_listed_field_and_kind() -> None:
    seen: set[tuple[str, str]] = set()
    for path in sorted(META_FIXTURES.glob("*.json")):
        for entry in json.loads(path.read_text())["entry"]:
            for change in entry["changes"]:
                for event in parse_change(
                    field=change["field"],
                    value=change["value"],
                    entry_id=str(entry["id"]),
                    entry_time=None,
                    received_at=RECEIVED,
                ):
                    seen.add((event.field, event.kind))
    factory = payloads.PayloadFactory(random.Random(7))
    for field in payloads.FIELDS:
        for _ in range(20):
            change = factory.change(field, payloads.SimWaba.for_id("102290129340398"))
            for event in parse_change(
                field=change.field, value=change.value, entry_id="1", entry_time=None, received_at=RECEIVED
            ):
                seen.add((event.field, event.kind))
    assert seen
    unlisted = {(f, k) for f, k in seen if k not in catalog.KINDS_BY_FIELD.get(f, ())}
    assert unlisted == set()


def test_fields_are_the_parsers_and_account_fields_leave_out_the_message_family() -> None:
    # The parser's fields, and the one wabawatch itself raises: a subscription verified but silent.
    assert set(catalog.FIELDS) == set(HANDLERS) | {"subscription"}
    assert set(catalog.ACCOUNT_FIELDS) == set(catalog.FIELDS) - catalog.MESSAGE_FIELDS
    assert "verified_but_silent" in catalog.KINDS_BY_FIELD["subscription"]
    assert {"security", "account_update", "message_template_status_update"} <= set(catalog.ACCOUNT_FIELDS)
    assert {"unknown", "malformed", "pin_reset_request", "status_failed"} <= set(catalog.KINDS)
    assert catalog.suggestion("securty", catalog.FIELDS) == " Did you mean “security”?"
    assert catalog.suggestion("zzzz", catalog.FIELDS) == ""
