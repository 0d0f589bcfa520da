"""Nothing Meta sends is dropped or crashes the parser: unknown fields, unknown enum values and
malformed values become generic events that keep what arrived."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.events.parsed import ParsedEvent, Severity
from app.events.parsing import HANDLERS, parse_change

ENTRY_TIME = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WABA = "102290129340398"


def parse(field: str, value: Any, entry_time: datetime | None = ENTRY_TIME) -> list[ParsedEvent]:
    return parse_change(field=field, value=value, entry_id=WABA, entry_time=entry_time, received_at=RECEIVED)


def test_unknown_field_is_kept_as_a_generic_info_event_with_its_raw_value() -> None:
    value = {"thing": "NEW", "nested": {"n": 1}}
    [event] = parse("group_lifecycle_update", value)
    assert (event.field, event.kind, event.severity) == ("group_lifecycle_update", "unknown", Severity.INFO)
    assert event.summary == "Unrecognised webhook field “group_lifecycle_update”"
    assert event.details == {"raw": value}
    assert event.waba_id == WABA
    assert event.occurred_at == ENTRY_TIME


@pytest.mark.parametrize(
    ("field", "value", "kind", "summary"),
    [
        (
            "account_update",
            {"event": "ACCOUNT_MOVED_TO_MARS"},
            "account_moved_to_mars",
            "account_update: unrecognised event “ACCOUNT_MOVED_TO_MARS”",
        ),
        (
            "account_review_update",
            {"decision": "ESCALATED"},
            "escalated",
            "account_review_update: unrecognised decision “ESCALATED”",
        ),
        (
            "phone_number_quality_update",
            {"display_phone_number": "15550783881", "event": "SIDEGRADE"},
            "sidegrade",
            "phone_number_quality_update: unrecognised event “SIDEGRADE” for +1 555-078-3881",
        ),
        (
            "phone_number_name_update",
            {"display_phone_number": "15550783881", "decision": "MAYBE"},
            "maybe",
            "phone_number_name_update: unrecognised decision “MAYBE” for +1 555-078-3881",
        ),
        (
            "security",
            {"display_phone_number": "15550783881", "event": "PIN_EATEN"},
            "pin_eaten",
            "security: unrecognised event “PIN_EATEN” for +1 555-078-3881",
        ),
        (
            "message_template_status_update",
            {"event": "SHELVED", "message_template_id": 1},
            "shelved",
            "message_template_status_update: unrecognised event “SHELVED”",
        ),
        (
            "message_template_quality_update",
            {"new_quality_score": "PURPLE"},
            "purple",
            "message_template_quality_update: unrecognised new_quality_score “PURPLE”",
        ),
    ],
)
def test_unknown_enum_value_on_a_health_field_is_a_warning_under_its_own_kind(
    field: str, value: dict[str, Any], kind: str, summary: str
) -> None:
    [event] = parse(field, value)
    assert (event.field, event.kind, event.severity, event.summary) == (
        field,
        kind,
        Severity.WARNING,
        summary,
    )
    assert event.details == {"raw": value}
    assert event.state == ()


def test_unknown_message_status_is_a_warning_kind_of_its_own() -> None:
    value = {
        "metadata": {"display_phone_number": "15550783881"},
        "statuses": [{"id": "wamid.X", "status": "vanished"}],
    }
    [event] = parse("messages", value)
    assert (event.kind, event.severity) == ("status_vanished", Severity.WARNING)


def test_unknown_value_on_an_informational_field_is_info() -> None:
    [event] = parse("partner_solutions", {"event": "SOLUTION_TELEPORTED", "solution_id": "1"})
    assert (event.kind, event.severity) == ("solution_teleported", Severity.INFO)


@pytest.mark.parametrize(
    ("value", "what"),
    [([1, 2], "array"), (None, "null"), ("APPROVED", "string"), (42, "number"), (True, "boolean")],
)
def test_value_that_is_not_an_object_is_a_malformed_event(value: Any, what: str) -> None:
    [event] = parse("account_review_update", value)
    assert (event.kind, event.severity) == ("malformed", Severity.WARNING)
    assert event.summary == f"account_review_update notification with a value that is not an object ({what})"
    assert event.details == {"raw": value}


@pytest.mark.parametrize(
    ("field", "summary"),
    [
        ("account_update", "account_update notification without an “event”"),
        ("account_review_update", "account_review_update notification without a “decision”"),
        ("security", "security notification without an “event”"),
        ("phone_number_quality_update", "phone_number_quality_update notification without an “event”"),
        ("phone_number_name_update", "phone_number_name_update notification without a “decision”"),
        ("message_template_status_update", "message_template_status_update notification without an “event”"),
        ("account_alerts", "account_alerts notification without “alert_info.alert_type”"),
        ("business_capability_update", "business_capability_update notification without any capability"),
        ("messages", "messages notification without statuses, errors or messages"),
    ],
)
def test_value_missing_its_discriminating_key_is_a_malformed_warning(field: str, summary: str) -> None:
    value = {"display_phone_number": "15550783881", "event": None, "decision": ""}
    [event] = parse(field, value)
    assert (event.kind, event.severity, event.summary) == ("malformed", Severity.WARNING, summary)


def test_malformed_message_family_values_keep_keys_not_content() -> None:
    value = {"metadata": {"display_phone_number": "15550783881"}, "contacts": [{"profile": {"name": "Ada"}}]}
    [event] = parse("messages", value)
    assert event.kind == "malformed"
    assert "Ada" not in json.dumps(event.details) + event.summary
    assert event.details == {"value_type": "dict", "keys": ["contacts", "metadata"]}


def test_a_value_as_a_list_of_messages_keeps_nothing_of_them() -> None:
    [event] = parse("messages", [{"text": {"body": "secret"}}])
    assert "secret" not in json.dumps(event.details) + event.summary


def test_wrong_types_inside_a_known_value_do_not_raise() -> None:
    odd = {
        "event": "ACCOUNT_RESTRICTION",
        "restriction_info": [{"restriction_type": ["x"], "expiration": "soon"}, "junk", None],
        "violation_info": "ADULT",
    }
    [event] = parse("account_update", odd)
    assert event.kind == "account_restriction"
    assert event.details["restrictions"] == [{"type": None, "expires_at": None}]


def _garbage(rng: random.Random, depth: int = 0) -> Any:
    scalars: list[Any] = [None, True, 0, -1, 1.5, "", "X", "TIER_10K", "15550783881", 10**30, float("inf")]
    if depth > 2:
        return rng.choice(scalars)
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(scalars)
    if roll < 0.5:
        return [_garbage(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = [
        "event",
        "decision",
        "statuses",
        "messages",
        "errors",
        "metadata",
        "restriction_info",
        "ban_info",
        "waba_info",
        "display_phone_number",
        "alert_info",
        "timestamp",
        "current_limit",
        "history",
        "new_quality_score",
        "status",
        "user_preferences",
        "state_sync",
        "automatic_events",
    ]
    return {rng.choice(keys): _garbage(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_random_garbage_in_every_field_never_raises_and_never_returns_nothing() -> None:
    rng = random.Random(20261125)
    fields = [*HANDLERS, "no_such_field", ""]
    for _ in range(3000):
        field = rng.choice(fields)
        entry_time = rng.choice([None, ENTRY_TIME])
        events = parse(field, _garbage(rng), entry_time)
        assert events
        for event in events:
            assert event.field == field
            assert event.kind
            assert event.kind == event.kind.lower()
            assert " " not in event.kind
            assert isinstance(event.severity, Severity)
            assert event.summary
            assert "\n" not in event.summary
            assert event.occurred_at.tzinfo is not None
            assert len(event.kind) <= 100
            json.dumps(event.details)  # stored in a JSON column
            json.dumps([update.value for update in event.state])


def test_a_naive_arrival_time_still_gives_an_aware_occurrence() -> None:
    naive = datetime(2026, 11, 25, 12, 0)
    [event] = parse_change(field="security", value={}, entry_id=WABA, entry_time=None, received_at=naive)
    assert event.occurred_at == naive.replace(tzinfo=UTC)


def test_implausible_meta_timestamps_fall_back_to_entry_time() -> None:
    for bad in ("soon", -5, 0, 10**15 * 1000, True, None):
        value = {"metadata": {}, "statuses": [{"id": "w", "status": "sent", "timestamp": bad}]}
        [event] = parse("messages", value)
        assert event.occurred_at == ENTRY_TIME, bad


def test_millisecond_timestamps_are_read_as_milliseconds() -> None:
    moment = ENTRY_TIME - timedelta(days=1)
    ms = int(moment.timestamp() * 1000)
    [event] = parse(
        "messages", {"metadata": {}, "statuses": [{"id": "w", "status": "read", "timestamp": ms}]}
    )
    assert event.occurred_at == moment


def test_long_untrusted_values_are_shortened_to_one_line_in_summaries() -> None:
    [event] = parse("account_update", {"event": "X" * 500 + "\nsecond line"})
    assert len(event.summary) < 150
    assert "\n" not in event.summary
    assert len(event.kind) <= 100


def test_malformed_phone_change_still_names_the_number() -> None:
    [event] = parse("security", {"display_phone_number": "15550783881"})
    assert event.kind == "malformed"
    assert event.phone_digits == "15550783881"


def test_phone_values_too_long_to_be_numbers_or_ids_are_dropped() -> None:
    [event] = parse("security", {"display_phone_number": "1" * 65, "event": "PIN_CHANGED"})
    assert (event.phone_digits, event.display_phone_number) == (None, None)
    assert event.summary == "Two-step verification PIN changed for the phone number"


def test_composed_kinds_stay_within_the_column() -> None:
    value = {"metadata": {}, "statuses": [{"id": "w", "status": "z" * 300}]}
    [event] = parse("messages", value)
    assert event.kind.startswith("status_zzz")
    assert len(event.kind) == 100
