"""The gate of a periodic pass: the worker runs every pass at each poll, and a pass with nothing
due should cost nothing (no query) until its next time."""

from __future__ import annotations

from datetime import datetime, timedelta


class Gate:
    def __init__(self) -> None:
        self._opens_at: datetime | None = None

    def is_shut(self, now: datetime) -> bool:
        return self._opens_at is not None and now < self._opens_at

    def shut_for(self, interval: timedelta, *, now: datetime) -> None:
        self._opens_at = now + interval
