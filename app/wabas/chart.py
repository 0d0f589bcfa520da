"""The phone page's chart: messaging-limit tier over time as a step line, quality events as dots.

Pure geometry: the template draws the SVG from these numbers with classes only (the page's CSP
forbids inline styles and scripts). Tiers are placed on a fixed ladder; a tier name the ladder does
not know is listed under the chart instead of being drawn at a made-up height.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.lib.timeutil import when

QUALITY_FIELDS = ("phone_number_quality_update",)
TIERS = ("TIER_50", "TIER_250", "TIER_1K", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED")
WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 110, 16, 12, 28
_QUALITY_CLASS = {
    "upgrade": "good",
    "throughput_upgrade": "good",
    "unflagged": "good",
    "onboarding": "neutral",
    "flagged": "warn",
    "downgrade": "bad",
}


class QualityEvent(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def details(self) -> dict[str, Any]: ...
    @property
    def summary(self) -> str: ...


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    css: str
    label: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    steps: str = ""  # SVG polyline points
    dots: list[Dot] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, tier label)
    start: str = ""
    end: str = ""
    unknown_tiers: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.dots


def _y(index: int) -> float:
    span = HEIGHT - TOP - BOTTOM
    return round(HEIGHT - BOTTOM - span * index / (len(TIERS) - 1), 1)


def tier_chart(history: Sequence[QualityEvent]) -> Chart:
    """The chart of ``history`` (oldest first)."""
    chart = Chart(ticks=[(_y(i), t.removeprefix("TIER_")) for i, t in enumerate(TIERS)])
    if not history:
        return chart
    first, last = history[0].occurred_at, history[-1].occurred_at
    seconds = max((last - first).total_seconds(), 1.0)

    def x_of(moment: datetime) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (moment - first).total_seconds() / seconds, 1)

    points: list[tuple[float, float]] = []
    for event in history:
        x = x_of(event.occurred_at)
        tier = event.details.get("current_limit") or event.details.get("business_limit")
        y = points[-1][1] if points else float(HEIGHT - BOTTOM)
        if isinstance(tier, str):
            if tier in TIERS:
                y = _y(TIERS.index(tier))
            elif tier not in chart.unknown_tiers:
                chart.unknown_tiers.append(tier)
        if points:
            points.append((x, points[-1][1]))  # hold the previous tier until this moment
        points.append((x, y))
        label = f"{when(event.occurred_at)} {event.summary}"
        chart.dots.append(Dot(x, y, _QUALITY_CLASS.get(event.kind, "neutral"), label))
    points.append((float(WIDTH - RIGHT), points[-1][1]))
    chart.steps = " ".join(f"{x},{y}" for x, y in points)
    chart.start, chart.end = f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"
    return chart
