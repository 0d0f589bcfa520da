"""The dedup key counts a change once whichever delivery carries it; routing finds the WABA."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.events.parsing import change_dedup_key, routing_waba_id

WHEN = datetime(2025, 4, 16, 17, 18, 52, tzinfo=UTC)
VALUE = {
    "event": "PARTNER_ADDED",
    "waba_info": {"waba_id": "980198427658004", "owner_business_id": "2329417887457253"},
}


def key(value: object = VALUE, **overrides: object) -> str:
    args: dict[str, object] = {"field": "account_update", "entry_id": "2949482758682047", "entry_time": WHEN}
    args |= overrides
    return change_dedup_key(value=value, **args)  # type: ignore[arg-type]


def test_key_is_64_hex_characters() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", key())


def test_same_change_with_keys_reordered_and_respaced_gets_the_same_key() -> None:
    reordered = json.loads(
        '{ "waba_info" : {"owner_business_id":"2329417887457253",  "waba_id":"980198427658004"},'
        ' "event":"PARTNER_ADDED" }'
    )
    assert key(reordered) == key(VALUE)


def test_same_instant_in_another_timezone_gets_the_same_key() -> None:
    elsewhere = WHEN.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert key(entry_time=elsewhere) == key()


def test_escaped_and_literal_unicode_give_the_same_key() -> None:
    escaped = json.loads('{"requested_verified_name": "Caf\\u00e9"}')
    literal = json.loads('{"requested_verified_name": "Café"}')
    assert key(escaped, field="phone_number_name_update") == key(literal, field="phone_number_name_update")


@pytest.mark.parametrize(
    "change",
    [
        {"field": "account_review_update"},
        {"entry_id": "102290129340398"},
        {"entry_time": WHEN + timedelta(seconds=1)},
        {"entry_time": None},
    ],
)
def test_changes_that_differ_in_field_entry_or_time_get_different_keys(change: dict[str, object]) -> None:
    assert key(**change) != key()


def test_changes_that_differ_in_value_get_different_keys() -> None:
    other = {**VALUE, "event": "PARTNER_REMOVED"}
    assert key(other) != key()
    assert key({"n": 1}) != key({"n": "1"})


def test_values_that_are_not_json_objects_still_get_keys() -> None:
    assert len({key(None), key([]), key([1]), key("x"), key({})}) == 5


@pytest.mark.parametrize(
    ("field", "value", "entry_id", "expected"),
    [
        ("account_update", VALUE, "2949482758682047", "980198427658004"),
        (
            "account_update",
            {"event": "PARTNER_APP_INSTALLED", "waba_info": {"waba_id": 1191624265890717}},
            "2949482758682047",
            "1191624265890717",
        ),
        ("account_update", {"event": "ACCOUNT_DELETED"}, "102290129340398", "102290129340398"),
        ("account_update", {"event": "PARTNER_ADDED", "waba_info": {"waba_id": ""}}, "2949", "2949"),
        ("account_update", ["not", "an", "object"], "102290129340398", "102290129340398"),
        ("partner_solutions", {"event": "SOLUTION_CREATED", "solution_id": "7"}, "506914307656634", None),
        ("partner_solutions", {"event": "SOLUTION_UPDATED", "waba_info": {"waba_id": "55"}}, "5069", "55"),
        (
            "phone_number_quality_update",
            {"waba_info": {"waba_id": "55"}},
            "102290129340398",
            "102290129340398",
        ),
        ("messages", {}, "102290129340398", "102290129340398"),
        ("no_such_field", None, "102290129340398", "102290129340398"),
        ("security", {}, "", None),
    ],
)
def test_routing_uses_waba_info_only_where_entry_id_is_a_portfolio(
    field: str, value: object, entry_id: str, expected: str | None
) -> None:
    assert routing_waba_id(field, value, entry_id) == expected
