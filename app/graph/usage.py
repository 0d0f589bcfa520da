"""Rate-limit usage from Graph's headers, and the hold-back rule that keeps a business under its limit.

``X-Business-Use-Case-Usage`` is a JSON object keyed by business object id (the WABA id for WABA
calls), each value a list of readings; ``X-App-Usage`` is one reading for the app. Values are whole
percentages of the quota and ``estimated_time_to_regain_access`` is in minutes (SPEC.md §5).

The tracker lives in memory, per process: it is shared by every client the process makes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.lib.timeutil import utcnow

log = logging.getLogger(__name__)


def _percent(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class BusinessUsage:
    business_id: str
    type: str
    call_count: int
    total_cputime: int
    total_time: int
    regain_minutes: int

    @property
    def peak(self) -> int:
        """The figure Meta throttles on: whichever of the three is highest."""
        return max(self.call_count, self.total_cputime, self.total_time)


@dataclass(frozen=True)
class AppUsage:
    call_count: int
    total_cputime: int
    total_time: int

    @property
    def peak(self) -> int:
        return max(self.call_count, self.total_cputime, self.total_time)


@dataclass(frozen=True)
class UsageReading:
    """What one response said about usage."""

    observed_at: datetime
    app: AppUsage | None
    businesses: dict[str, tuple[BusinessUsage, ...]]


def parse_business_usage(header: str | None) -> dict[str, tuple[BusinessUsage, ...]]:
    """Malformed headers are ignored (and logged): usage is advice, never a reason to fail a call."""
    if not header:
        return {}
    try:
        data = json.loads(header)
    except ValueError:
        log.warning("ignored a malformed X-Business-Use-Case-Usage header")
        return {}
    found: dict[str, tuple[BusinessUsage, ...]] = {}
    if not isinstance(data, dict):
        return found
    for business_id, readings in data.items():
        if not isinstance(readings, list):
            continue
        found[str(business_id)] = tuple(
            BusinessUsage(
                business_id=str(business_id),
                type=str(r.get("type", "")),
                call_count=_percent(r.get("call_count")),
                total_cputime=_percent(r.get("total_cputime")),
                total_time=_percent(r.get("total_time")),
                regain_minutes=_percent(r.get("estimated_time_to_regain_access")),
            )
            for r in readings
            if isinstance(r, dict)
        )
    return found


def parse_app_usage(header: str | None) -> AppUsage | None:
    if not header:
        return None
    try:
        data = json.loads(header)
    except ValueError:
        log.warning("ignored a malformed X-App-Usage header")
        return None
    if not isinstance(data, dict) or not {"call_count", "total_cputime", "total_time"} & data.keys():
        return None
    return AppUsage(
        _percent(data.get("call_count")),
        _percent(data.get("total_cputime")),
        _percent(data.get("total_time")),
    )


@dataclass(frozen=True)
class BusinessStatus:
    """The latest known usage of one business, and until when calls for it are held back."""

    business_id: str
    readings: tuple[BusinessUsage, ...]
    observed_at: datetime
    held_until: datetime | None

    @property
    def peak(self) -> int:
        return max((r.peak for r in self.readings), default=0)

    @property
    def regain_minutes(self) -> int:
        return max((r.regain_minutes for r in self.readings), default=0)


@dataclass(frozen=True)
class HoldBack:
    """Why a call was not sent: ``subject`` is a business id, or ``app`` for the app-level quota."""

    subject: str
    peak: int
    until: datetime


class UsageTracker:
    """Keeps the latest usage per business and per app, and says when to hold calls back.

    A business (or app) whose usage reaches ``hold_back_at`` percent is left alone until Meta's
    estimated time to regain access, and at least ``cooldown``: Meta counts over a rolling hour,
    so usage only falls as old calls age out. After that one call goes through and its headers
    tell the tracker where the business stands.
    """

    def __init__(
        self,
        *,
        hold_back_at: int = 90,
        cooldown: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.hold_back_at = hold_back_at
        self.cooldown = cooldown
        self.clock = clock
        self._businesses: dict[str, BusinessStatus] = {}
        self._apps: dict[str, tuple[AppUsage, datetime | None]] = {}

    def record(self, reading: UsageReading, *, app_id: str = "") -> None:
        for business_id, readings in reading.businesses.items():
            status = BusinessStatus(business_id, readings, reading.observed_at, None)
            self._businesses[business_id] = BusinessStatus(
                business_id,
                readings,
                reading.observed_at,
                self._hold_until(status.peak, status.regain_minutes, reading.observed_at),
            )
        if reading.app is not None:
            self._apps[app_id] = (reading.app, self._hold_until(reading.app.peak, 0, reading.observed_at))

    def throttled(self, subject: str, until: datetime, *, app_id: str = "") -> None:
        """Meta refused a call as rate-limited: hold back until ``until`` whatever the headers said."""
        if subject == "app":
            usage = self._apps.get(app_id, (AppUsage(100, 100, 100), None))[0]
            self._apps[app_id] = (usage, until)
            return
        known = self._businesses.get(subject)
        readings = known.readings if known else ()
        self._businesses[subject] = BusinessStatus(
            subject, readings, known.observed_at if known else self.clock(), until
        )

    def latest(self, business_id: str) -> BusinessStatus | None:
        return self._businesses.get(business_id)

    def app_usage(self, app_id: str = "") -> AppUsage | None:
        found = self._apps.get(app_id)
        return found[0] if found else None

    def check(self, business_id: str | None, *, app_id: str = "") -> HoldBack | None:
        now = self.clock()
        app = self._apps.get(app_id)
        if app is not None and app[1] is not None and now < app[1]:
            return HoldBack("app", app[0].peak, app[1])
        status = self._businesses.get(business_id) if business_id else None
        if status is not None and status.held_until is not None and now < status.held_until:
            return HoldBack(status.business_id, status.peak, status.held_until)
        return None

    def _hold_until(self, peak: int, regain_minutes: int, observed_at: datetime) -> datetime | None:
        if regain_minutes > 0:
            return observed_at + max(timedelta(minutes=regain_minutes), self.cooldown)
        if peak >= self.hold_back_at:
            return observed_at + self.cooldown
        return None
