"""wabawatch's own test event: parsed as a test, in words, changing no state."""

from __future__ import annotations

from datetime import UTC, datetime

from app.events.explanations import explanation_for
from app.events.parsed import Severity
from app.events.parsing import parse_change

NOW = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def test_the_test_field_is_an_info_event_marked_as_a_test_that_changes_no_state() -> None:
    [event] = parse_change(
        field="wabawatch_test",
        value={"sent_by": "lee@example.com", "sent_at": NOW.isoformat(), "nonce": "ab12"},
        entry_id="102290129340398",
        entry_time=NOW,
        received_at=NOW,
    )
    assert (event.kind, event.severity, event.waba_id) == ("test_event", Severity.INFO, "102290129340398")
    assert event.summary == "Test event sent from wabawatch by lee@example.com: no action needed"
    assert event.state == ()
    assert explanation_for(event.field, event.kind).meaning.startswith(
        "A test event sent from wabawatch's set-up checklist, not by Meta"
    )
