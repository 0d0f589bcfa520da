"""The one rule of "verified but silent": our app is subscribed to the WABA's webhooks, yet nothing
has arrived for the WABA's ``silent_after_hours``. The overview card, the connection page, the CLI
and the worker's alert all ask here. Pure functions over the WABA's row (no database).

A silence starts at the latest of the last event, our latest successful subscribe and the
connection; a new event (or a new subscribe) ends it, and the next silence is a new episode.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.wabas.models import Waba

FIELD = "subscription"
KIND = "verified_but_silent"


def quiet_since(waba: Waba) -> datetime | None:
    """Since when a subscribed WABA has heard nothing; None when it is not subscribed (or never was)."""
    if not waba.subscribed:
        return None
    return max(
        (t for t in (waba.last_event_at, waba.subscribed_at, waba.connected_at) if t is not None),
        default=None,
    )


def silent_for(waba: Waba, now: datetime) -> timedelta | None:
    """How long the WABA has been silent, once that reaches its ``silent_after_hours``; else None."""
    since = quiet_since(waba)
    if since is None:
        return None
    quiet = now - since
    return quiet if quiet >= timedelta(hours=waba.silent_after_hours) else None


def hours(silence: timedelta) -> int:
    return int(silence.total_seconds() // 3600)


def needs_alert(waba: Waba, now: datetime) -> bool:
    """Silent, and this silence has not been alerted yet (one alert per silence, not per check)."""
    if silent_for(waba, now) is None:
        return False
    since = quiet_since(waba)
    return waba.silence_alerted_at is None or (since is not None and waba.silence_alerted_at < since)
