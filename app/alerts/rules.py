"""Which events a rule picks: pure functions over plain values (no database)."""

from __future__ import annotations

from dataclasses import dataclass

from app.events.parsing.selftest import TEST_FIELD


@dataclass(frozen=True)
class RuleSpec:
    fields: frozenset[str] = frozenset()  # empty: any field
    kinds: frozenset[str] = frozenset()  # empty: any kind
    min_severity: int | None = None  # None: any severity
    waba_ids: frozenset[str] = frozenset()  # empty: every WABA of the org


def matches(rule: RuleSpec, *, field: str, kind: str, severity: int, waba_id: str | None) -> bool:
    """All the rule's conditions hold (an empty condition holds for everything). wabawatch's own
    test event matches no rule: it checks the way in, and alert channels have their own test."""
    if field == TEST_FIELD:
        return False
    if rule.fields and field not in rule.fields:
        return False
    if rule.kinds and kind not in rule.kinds:
        return False
    if rule.min_severity is not None and severity < rule.min_severity:
        return False
    return not (rule.waba_ids and (waba_id is None or waba_id not in rule.waba_ids))


def parse_names(text: str) -> list[str]:
    """A comma- or space-separated list as typed in a form: lowercased, de-duplicated, in order."""
    seen: dict[str, None] = {}
    for part in text.replace(",", " ").split():
        name = part.strip().lower()[:100]
        if name:
            seen.setdefault(name, None)
    return list(seen)
