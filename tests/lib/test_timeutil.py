"""Every time the app shows, in one format with its zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.lib.timeutil import when


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (datetime(2026, 12, 3, 14, 5, 9, tzinfo=UTC), "2026-12-03 14:05 UTC"),
        (datetime(2026, 12, 3, 15, 5, tzinfo=timezone(timedelta(hours=1))), "2026-12-03 14:05 UTC"),
        (datetime(2026, 12, 3, 14, 5), "2026-12-03 14:05 UTC"),  # naive columns hold UTC
        ("2025-12-06T05:46:40+00:00", "2025-12-06 05:46 UTC"),
        ("2025-12-06T05:46:40Z", "2025-12-06 05:46 UTC"),
        ("December 03, 2026", "2026-12-03"),  # Meta's ban date, a day
        ("not a time", "not a time"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_when(value: object, shown: str) -> None:
    assert when(value) == shown
