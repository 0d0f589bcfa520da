from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_iso8601(text: str) -> datetime:
    """Parse an ISO 8601 instant; a value without an offset is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


TIME_FORMAT = "%Y-%m-%d %H:%M UTC"
DAY_FORMAT = "%Y-%m-%d"
_MONTH_DAY_YEAR = "%B %d, %Y"  # Meta's ban dates: "April 17, 2025"


def when(value: object) -> str:
    """Any moment the app shows, in the one format pages, alerts and mails use ("2026-12-03 14:05
    UTC"): a datetime (naive means UTC), an ISO 8601 string, or Meta's written date ("December 03,
    2026", shown as the day "2026-12-03"). Nothing is "—"; text that is no time is shown as given."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime(TIME_FORMAT)
    text = str(value).strip()
    try:
        return parse_iso8601(text).strftime(TIME_FORMAT)
    except ValueError:
        pass
    try:
        return datetime.strptime(text, _MONTH_DAY_YEAR).strftime(DAY_FORMAT)
    except ValueError:
        return text
