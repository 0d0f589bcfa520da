"""Text as the staff search compares it: folded (case and accents ignored) or reduced to digits,
and the matched part of a shown value marked for the page."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_NOT_DIGIT = re.compile(r"\D")
MIN_DIGITS = 3  # fewer digits than this in a query are not searched as a number or an id


def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold(text: str) -> str:
    """``"Björk Outdoor"`` -> ``"bjork outdoor"``: lower case, accents dropped, spaces collapsed."""
    return " ".join("".join(_fold_char(c) for c in text).split())


def digits_of(text: str) -> str | None:
    """The digits of a query that reads as a number or an id ("262-7707", "+1 (650)", "7707"), or
    None when it has letters or too few digits."""
    stripped = text.strip()
    if re.search(r"[^\d\s()+\-./]", stripped):
        return None
    only = _NOT_DIGIT.sub("", stripped)
    return only if len(only) >= MIN_DIGITS else None


@dataclass(frozen=True)
class Part:
    text: str
    matched: bool


def _split(text: str, start: int, end: int) -> list[Part]:
    parts = [Part(text[:start], False), Part(text[start:end], True), Part(text[end:], False)]
    return [p for p in parts if p.text]


def highlight(text: str, *, folded: str | None = None, digits: str | None = None) -> list[Part]:
    """``text`` in parts, the first match of the folded query (or of the query's digits, skipping
    the separators between them in ``text``) marked; the whole text unmarked when nothing matches."""
    if digits:
        positions = [i for i, c in enumerate(text) if c.isdigit()]
        at = "".join(text[i] for i in positions).find(digits)
        if at >= 0:
            return _split(text, positions[at], positions[at + len(digits) - 1] + 1)
    if folded:
        # Fold character by character, remembering where each folded character came from.
        origin: list[int] = []
        out: list[str] = []
        for i, c in enumerate(text):
            for f in _fold_char(c):
                out.append(f)
                origin.append(i)
        flat = "".join(out)
        at = flat.find(folded)
        if at >= 0:
            return _split(text, origin[at], origin[at + len(folded) - 1] + 1)
    return [Part(text, False)] if text else []
