"""The timeline's filters: one parser for the query string and one function that applies them.

Pages, exports and the live stream all take the same parameters (DESIGN.md's contract): ``field``,
``kind``, ``severity`` (minimum), ``waba`` (WABA id), ``phone`` (any formatting, or part of a
number), ``since``, ``until`` (ISO 8601; since inclusive, until exclusive) and ``q`` (text); and
these additions: ``last`` (a preset period: ``1h``, ``24h``, ``7d``, instead of ``since``),
``open=1`` (warning and critical events nobody has acknowledged yet) and ``all=1`` (every event:
without it, and without a field or kind chosen, the timeline shows account events only, see
``app.events.catalog``). ``parse_filters`` turns them into a frozen ``Filters`` or raises
``FilterError`` whose message says in words what is wrong (pages answer 400 with it and keep what
was typed). ``apply_filters`` narrows a select that is **already scoped to one org**
(``queries.scoped_events`` does both); it never widens a query beyond the org.

A phone filter is a pattern: with a leading "+" (or "00") the number starts with those digits,
without one it contains them anywhere ("7707", "555-262-7707"). ``queries.checked_filters`` turns
the pattern into the org's matching numbers (``phones``, listed by a skip scan of the phone index,
one probe per number), so the query is an indexed ``phone IN (…)``; filters built in code with a
whole number (``Filters(phone=digits)``) compare it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, Text, cast, false, literal_column, or_, text

from app.events.catalog import ACCOUNT_EVENTS_SQL
from app.events.models import Event
from app.events.parsed import Severity
from app.lib.timeutil import parse_iso8601, utcnow

S = TypeVar("S", bound="Select[*tuple[Any, ...]]")

MAX_TEXT = 200  # longer filter values are refused rather than searched
MIN_PHONE_DIGITS = 3
MAX_PHONE_DIGITS = 15
PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
PERIOD_WORDS = {"1h": "the last hour", "24h": "the last 24 hours", "7d": "the last 7 days"}
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
_YES, _NO = frozenset({"1", "true", "yes", "on"}), frozenset({"", "0", "false", "no", "off"})


class FilterError(ValueError):
    """A filter value that cannot be understood; the message is shown to the person."""


@dataclass(frozen=True)
class Filters:
    field: str | None = None
    kind: str | None = None
    min_severity: Severity | None = None
    waba_id: str | None = None
    phone: str | None = None  # E.164 digits (or the start of them), no "+"
    phone_contains: bool = False  # typed without "+": numbers containing ``phone`` anywhere
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    last: str | None = None  # a key of PERIODS; ``since`` is then now minus that period
    open_only: bool = False
    # Built in code, filters cover every field; from a query string, account events unless all=1.
    account_only: bool = False
    # The org's numbers matching ``phone`` (``queries.checked_filters``); None: compare ``phone`` as is.
    phones: tuple[str, ...] | None = None

    @property
    def active(self) -> bool:
        """Anything narrows the view beyond the default (account events, any time)."""
        return any(
            getattr(self, f.name) not in (None, False)
            for f in fields(self)
            if f.name not in ("account_only", "phones", "phone_contains")
        )

    def params(self) -> dict[str, str]:
        """The filters as query parameters (the inverse of ``parse_filters``) for shareable URLs."""
        out: dict[str, str] = {}
        for name in ("field", "kind", "waba_id", "q"):
            value = getattr(self, name)
            if value:
                out["waba" if name == "waba_id" else name] = value
        if self.phone:
            out["phone"] = self.phone if self.phone_contains else "+" + self.phone
        if self.min_severity is not None:
            out["severity"] = self.min_severity.label
        if self.last is not None:
            out["last"] = self.last
        elif self.since is not None:
            out["since"] = _iso(self.since)
        if self.until is not None:
            out["until"] = _iso(self.until)
        if self.open_only:
            out["open"] = "1"
        if not self.account_only and not self.field and not self.kind:
            out["all"] = "1"
        return out

    def words(self) -> str:
        """What the filters keep, in words (exports say it in a header, pages above the table)."""
        parts = [f"field {self.field}" if self.field else ""]
        parts.append(f"kind {self.kind}" if self.kind else "")
        if not parts[0] and not parts[1]:
            parts.append(
                "account events only, message statuses hidden" if self.account_only else "all events"
            )
        if self.min_severity is not None:
            parts.append(f"{self.min_severity.label} or worse")
        if self.open_only:
            parts.append("not acknowledged yet")
        parts.append(f"WABA {self.waba_id}" if self.waba_id else "")
        if self.phone:
            parts.append(
                f"numbers containing {self.phone}" if self.phone_contains else f"number +{self.phone}"
            )
        if self.last:
            parts.append(f"in {PERIOD_WORDS[self.last]}")
        else:
            parts.append(f"since {_iso(self.since)}" if self.since else "")
        parts.append(f"until {_iso(self.until)}" if self.until else "")
        parts.append(f"text “{self.q}”" if self.q else "")
        return "; ".join(p for p in parts if p)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = (params.get(name) or "").strip()
    if len(value) > MAX_TEXT:
        raise FilterError(f"“{name}” is longer than {MAX_TEXT} characters.")
    return value or None


def _time(params: Mapping[str, str], name: str) -> datetime | None:
    value = _text(params, name)
    if value is None:
        return None
    try:
        return parse_iso8601(value)
    except ValueError as exc:
        raise FilterError(
            f"“{name}” must be an ISO 8601 time such as 2026-11-25T14:00:00Z or 2026-11-25, not {value!r}."
        ) from exc


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = (_text(params, name) or "").lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise FilterError(f"“{name}” is 1 (on) or empty (off), not {value!r}.")


def phone_pattern(typed: str) -> tuple[str, bool]:
    """The digits of a typed phone filter and whether they may be anywhere in a number (typed
    without "+" or "00") rather than at its start. Raises ``FilterError`` when it is no number."""
    candidate = typed.strip()
    digits = re.sub(r"\D", "", candidate)
    anchored = candidate.startswith("+")
    if not anchored and digits.startswith("00") and len(digits) > 2 + MIN_PHONE_DIGITS:
        anchored, digits = True, digits[2:]
    least = 1 if anchored else MIN_PHONE_DIGITS  # "+44": numbers of a country code
    if not _PHONE_CHARS.match(candidate) or not least <= len(digits) <= MAX_PHONE_DIGITS:
        raise FilterError(
            f"“phone” must be a phone number or part of one ({MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS}"
            f" digits, such as 7707, 555-262-7707, +44 or +1 555 262 7707), not “{candidate}”."
        )
    return digits, not anchored


def phone_matches(filters: Filters, number: str) -> bool:
    """Whether a number (E.164 digits) matches the filters' phone (see ``phone_pattern``)."""
    if not filters.phone:
        return True
    return filters.phone in number if filters.phone_contains else number.startswith(filters.phone)


def parse_filters(params: Mapping[str, str], *, account_by_default: bool = False) -> Filters:
    """Filters from query parameters; empty values mean "no filter". Raises ``FilterError``.

    ``account_by_default``: without ``all=1`` and without a field or kind, account events only (the
    org's timeline, its exports and its stream; the staff console lists everything)."""
    severity_text = _text(params, "severity")
    try:
        severity = Severity.from_label(severity_text) if severity_text else None
    except ValueError as exc:
        raise FilterError(f"“severity” must be info, warning or critical, not {severity_text!r}.") from exc
    phone_text = _text(params, "phone")
    waba = _text(params, "waba")
    if waba is not None and not waba.isdigit():
        raise FilterError(f"“waba” must be a WABA id (digits only), not {waba!r}.")
    since, until = _time(params, "since"), _time(params, "until")
    last = _text(params, "last")
    if last is not None:
        if last not in PERIODS:
            raise FilterError(f"“last” is one of {', '.join(PERIODS)}, not {last!r}.")
        if since is not None:
            raise FilterError("Choose a period (“last”) or a “since” time, not both.")
        since = utcnow() - PERIODS[last]
    if since is not None and until is not None and until <= since:
        raise FilterError("“until” must be later than “since”.")
    field, kind = _text(params, "field"), _text(params, "kind")
    phone, phone_contains = phone_pattern(phone_text) if phone_text else (None, False)
    return Filters(
        field=field,
        kind=kind,
        min_severity=severity if severity is not None and severity > Severity.INFO else None,
        waba_id=waba,
        phone=phone,
        phone_contains=phone_contains,
        since=since,
        until=until,
        q=_text(params, "q"),
        last=last,
        open_only=_flag(params, "open"),
        account_only=account_by_default and not (_flag(params, "all") or field or kind),
    )


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def apply_filters(stmt: S, filters: Filters) -> S:
    """``stmt`` (already scoped to one org) narrowed by ``filters``.

    Equality filters line up with the (org_id, waba_id|phone|kind|field, occurred_at, id) indexes.
    The minimum severity is a literal (three possible values) so that SQLite and PostgreSQL can
    use the partial index of warning-and-worse events. ``q`` is a case-insensitive substring of the
    summary or of the parsed details (names, reasons, requesters): not indexable, but the newest-first
    index scan stops as soon as a page is full. Account events and open events are literal SQL
    too, for the same reason.
    """
    if filters.field:
        stmt = stmt.where(Event.field == filters.field)
    if filters.kind:
        stmt = stmt.where(Event.kind == filters.kind)
    if filters.min_severity is not None and filters.min_severity > Severity.INFO:
        stmt = stmt.where(Event.severity >= literal_column(str(int(filters.min_severity))))
    if filters.waba_id:
        stmt = stmt.where(Event.waba_id == filters.waba_id)
    if filters.phones is not None:
        stmt = stmt.where(Event.phone.in_(filters.phones) if filters.phones else false())
    elif filters.phone:
        stmt = stmt.where(Event.phone == filters.phone)
    if filters.open_only:
        stmt = stmt.where(Event.severity >= literal_column("1"), Event.acknowledged_at.is_(None))
    if filters.account_only:
        stmt = stmt.where(text(ACCOUNT_EVENTS_SQL))
    if filters.since is not None:
        stmt = stmt.where(Event.occurred_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Event.occurred_at < filters.until)
    if filters.q:
        pattern = _like_pattern(filters.q)
        stmt = stmt.where(
            or_(
                Event.summary.ilike(pattern, escape="\\"),
                cast(Event.details, Text).ilike(pattern, escape="\\"),
            )
        )
    return stmt
