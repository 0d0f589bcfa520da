from __future__ import annotations

import pytest

from app.lib.phones import digits, pretty


@pytest.mark.parametrize(
    "text",
    [
        "+1 (650) 555-1111",
        "1 650 555 1111",
        "16505551111",
        "+16505551111",
        " +1.650.555.1111 ",
        "001 650 555 1111",
    ],
)
def test_any_formatting_gives_e164_digits(text: str) -> None:
    assert digits(text) == "16505551111"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "+1 650 CALL NOW",
        "++16505551111",
        "1-650-555-1111 ext 2",
        "12345",
        "0650 555 1111",
        "1234567890123456",
        "+",
        "16505551111+",
    ],
)
def test_garbage_is_no_number(text: str) -> None:
    assert digits(text) is None


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("16505551111", "+1 650-555-1111"),
        ("15550783881", "+1 555-078-3881"),  # Meta's test numbers are not valid, but formattable
        ("447911123456", "+44 7911 123456"),
        ("124545784358810", "+124545784358810"),  # not a possible number: shown as digits
        ("999", "+999"),
    ],
)
def test_pretty_formats_internationally_or_falls_back_to_plus_digits(number: str, shown: str) -> None:
    assert pretty(number) == shown
