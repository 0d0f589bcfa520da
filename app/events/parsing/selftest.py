"""wabawatch's own test event: a signed sample that an admin posts to the org's callback URL from
the overview's set-up checklist, to see a notification travel the whole way (receiver, worker,
timeline, live update). Meta never sends this field. It changes no state and never alerts
(``app.alerts.rules``): it is marked as a test wherever it is shown."""

from __future__ import annotations

from app.events.parsed import ParsedEvent, Severity
from app.events.parsing.common import Change, short

TEST_FIELD = "wabawatch_test"
TEST_KIND = "test_event"


def parse_test_event(change: Change) -> list[ParsedEvent]:
    value = change.value
    sent_by = short(str(value.get("sent_by") or "someone"), 120)
    return [
        change.event(
            TEST_KIND,
            f"Test event sent from wabawatch by {sent_by}: no action needed",
            severity=Severity.INFO,
            details={"sent_by": sent_by, "test": "yes"},
        )
    ]
