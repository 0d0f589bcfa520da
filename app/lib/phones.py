"""Phone numbers as people type them, reduced to E.164 digits, and shown back in a readable form.

Meta sends business numbers as bare digits ("15550783881"); people search with any formatting
("+1 (555) 078-3881"). Both are compared as E.164 digits without the "+". ``digits`` checks shape
only (not validity): Meta's test numbers (+1 555 …) are not valid numbers in any numbering plan.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_ALLOWED = re.compile(r"^\+?[\d\s().\-/]+$")
_NOT_DIGIT = re.compile(r"\D")
# E.164 allows at most 15 digits; fewer than 7 is an extension or a short code, not a number.
_MIN_DIGITS = 7
_MAX_DIGITS = 15


def digits(text: str) -> str | None:
    """E.164 digits of ``text`` ("+1 (650) 555-1111" -> "16505551111"), or None when it is no number.

    An international "00" prefix is dropped. Letters, several "+" signs, a national number starting
    with 0, or too few/many digits give None.
    """
    if not isinstance(text, str):
        return None
    candidate = text.strip()
    if not candidate or not _ALLOWED.match(candidate):
        return None
    only = _NOT_DIGIT.sub("", candidate)
    if only.startswith("00") and not candidate.startswith("+"):
        only = only[2:]
    if only.startswith("0") or not _MIN_DIGITS <= len(only) <= _MAX_DIGITS:
        return None
    return only


@lru_cache(maxsize=4096)  # business numbers repeat in every status webhook; formatting costs ~0.2 ms
def pretty(digits: str) -> str:
    """International format ("+1 650-555-1111"); "+<digits>" when the number cannot be formatted."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return "+" + digits
    if not phonenumbers.is_possible_number(number):
        return "+" + digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
