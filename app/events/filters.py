"""The timeline's filters: one parser for the query string and one function that applies them.

Pages, exports and the live stream all take the same parameters (DESIGN.md's contract): ``field``,
``kind``, ``severity`` (minimum), ``waba`` (WABA id), ``phone`` (any formatting), ``since``,
``until`` (ISO 8601; since inclusive, until exclusive) and ``q`` (text). ``parse_filters`` turns
them into a frozen ``Filters`` or raises ``FilterError`` whose message says in words what is wrong
(pages answer 400 with it). ``apply_filters`` narrows a select that is **already scoped to one org**
(``queries.scoped_events`` does both); it never widens a query beyond the org.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, Text, cast, literal_column, or_

from app.events.models import Event
from app.events.parsed import Severity
from app.lib import phones
from app.lib.timeutil import parse_iso8601

S = TypeVar("S", bound="Select[*tuple[Any, ...]]")

MAX_TEXT = 200  # longer filter values are refused rather than searched


class FilterError(ValueError):
    """A filter value that cannot be understood; the message is shown to the person."""


@dataclass(frozen=True)
class Filters:
    field: str | None = None
    kind: str | None = None
    min_severity: Severity | None = None
    waba_id: str | None = None
    phone: str | None = None  # E.164 digits, no "+"
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None

    @property
    def active(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__dataclass_fields__)

    def params(self) -> dict[str, str]:
        """The filters as query parameters (the inverse of ``parse_filters``) for shareable URLs."""
        out: dict[str, str] = {}
        for name in ("field", "kind", "waba_id", "q"):
            value = getattr(self, name)
            if value:
                out["waba" if name == "waba_id" else name] = value
        if self.min_severity is not None:
            out["severity"] = self.min_severity.label
        if self.phone:
            out["phone"] = "+" + self.phone
        if self.since is not None:
            out["since"] = _iso(self.since)
        if self.until is not None:
            out["until"] = _iso(self.until)
        return out


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


def parse_filters(params: Mapping[str, str]) -> Filters:
    """Filters from query parameters; empty values mean "no filter". Raises ``FilterError``."""
    severity_text = _text(params, "severity")
    try:
        severity = Severity.from_label(severity_text) if severity_text else None
    except ValueError as exc:
        raise FilterError(f"“severity” must be info, warning or critical, not {severity_text!r}.") from exc
    phone_text = _text(params, "phone")
    phone = phones.digits(phone_text) if phone_text else None
    if phone_text and phone is None:
        raise FilterError(f"“phone” must be a phone number such as +1 650 555 1111, not {phone_text!r}.")
    waba = _text(params, "waba")
    if waba is not None and not waba.isdigit():
        raise FilterError(f"“waba” must be a WABA id (digits only), not {waba!r}.")
    since, until = _time(params, "since"), _time(params, "until")
    if since is not None and until is not None and until <= since:
        raise FilterError("“until” must be later than “since”.")
    return Filters(
        field=_text(params, "field"),
        kind=_text(params, "kind"),
        min_severity=severity if severity is not None and severity > Severity.INFO else None,
        waba_id=waba,
        phone=phone,
        since=since,
        until=until,
        q=_text(params, "q"),
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
    index scan stops as soon as a page is full.
    """
    if filters.field:
        stmt = stmt.where(Event.field == filters.field)
    if filters.kind:
        stmt = stmt.where(Event.kind == filters.kind)
    if filters.min_severity is not None and filters.min_severity > Severity.INFO:
        stmt = stmt.where(Event.severity >= literal_column(str(int(filters.min_severity))))
    if filters.waba_id:
        stmt = stmt.where(Event.waba_id == filters.waba_id)
    if filters.phone:
        stmt = stmt.where(Event.phone == filters.phone)
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
