"""Writing outbox rows, in the caller's transaction (services flush, never commit).

``enqueue_for_events`` runs in the transaction that stores the events, so an alert exists exactly
when its event was committed. Storm control: the first event of a (rule, WABA, field, kind) group
goes out at once; repeats within the rule's window are counted into one follow-up row that goes out
when the window ends ("and 12 more"). A channel on daily digest gets ``held`` rows instead, which a
digest row gathers once a day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import queries
from app.alerts.models import (
    AlertChannel,
    AlertDelivery,
    AlertRule,
    ChannelKind,
    DeliveryKind,
    DeliveryStatus,
)
from app.alerts.rules import RuleSpec, matches
from app.events import queries as events_queries
from app.events.models import Event
from app.events.parsed import Severity
from app.lib.timeutil import utcnow, when
from app.wabas import queries as wabas_queries

# Events older than this when stored (a reprocess, a WABA registered days after its changes came)
# are history, not news: they make no alerts.
MAX_EVENT_AGE = timedelta(hours=24)
DEFAULT_MAX_ATTEMPTS = 6


def spec_of(rule: AlertRule) -> RuleSpec:
    return RuleSpec(
        fields=frozenset(rule.fields or ()),
        kinds=frozenset(rule.kinds or ()),
        min_severity=rule.min_severity,
        waba_ids=frozenset(rule.waba_ids or ()),
    )


def usable(channel: AlertChannel) -> bool:
    """Enabled, and (for an address) confirmed."""
    return channel.enabled and (channel.kind != ChannelKind.EMAIL or channel.confirmed_at is not None)


def event_link(org_slug: str, event: Event) -> str:
    """The event's own page (``events:detail``), under the org's prefix."""
    return f"/o/{org_slug}/events/{event.id}"


def event_payload(event: Event, *, org_slug: str, waba_name: str | None) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "field": event.field,
        "kind": event.kind,
        "severity": Severity(event.severity).label,
        "waba_id": event.waba_id,
        "waba_name": waba_name or None,
        "phone": event.phone,
        "occurred_at": when(event.occurred_at),
        "summary": event.summary,
        "link": event_link(org_slug, event),
    }


def _values(org_id: int, kind: str, *, now: datetime, **values: Any) -> dict[str, Any]:
    values.setdefault("status", DeliveryStatus.QUEUED)
    values.setdefault("run_at", now)
    values.setdefault("max_attempts", DEFAULT_MAX_ATTEMPTS)
    return {"org_id": org_id, "kind": kind, "attempts": 0, "group_count": 0, "created_at": now, **values}


def _row(org_id: int, kind: str, *, now: datetime, **values: Any) -> AlertDelivery:
    return AlertDelivery(**_values(org_id, kind, now=now, **values))


@dataclass
class OrgAlertConfig:
    """An org's enabled rules and usable channels, read once per transaction (a processing batch
    stores many changes of one org: this keeps the per-change cost at zero queries when nothing
    matches)."""

    org_slug: str
    rules: list[AlertRule]
    channel_ids: dict[int, list[int]]
    channels: dict[int, AlertChannel]
    waba_names: dict[str, str]


async def _config(session: AsyncSession, org_id: int) -> OrgAlertConfig | None:
    cache: dict[int, OrgAlertConfig | None] = session.info.setdefault("alerts.config", {})
    if org_id in cache:
        return cache[org_id]
    found = None
    rules = [r for r in await queries.rules(session, org_id=org_id) if r.enabled]
    org = await queries.org(session, org_id) if rules else None
    if org is not None:
        channels = {c.id: c for c in await queries.channels(session, org_id=org_id) if usable(c)}
        if channels:
            found = OrgAlertConfig(
                org_slug=org.slug,
                rules=rules,
                channel_ids=await queries.rule_channel_ids(session, org_id=org_id),
                channels=channels,
                waba_names=await wabas_queries.waba_names(session, org_id=org_id),
            )
    cache[org_id] = found
    return found


async def prepare(session: AsyncSession, *, org_id: int) -> None:
    """Reads the org's enabled rules and usable channels ahead of ``enqueue_for_events`` (kept in
    ``session`` for the rest of its transaction): a processing batch reads them before it takes the
    write turn."""
    await _config(session, org_id)


async def enqueue_for_events(
    session: AsyncSession,
    *,
    org_id: int,
    event_ids: Sequence[int],
    now: datetime | None = None,
    events: Mapping[int, Event] | None = None,
) -> int:
    """One outbox row per (new event, channel of a matching enabled rule); how many rows changed.
    ``events``: the new events as the caller stored them, by id (a processing batch), instead of
    reading them back.

    A few statements whatever the number of events: the events, storm control's groups (the last
    alert within each window and the follow-up waiting, two queries for all of them) and one insert."""
    if not event_ids:
        return 0
    config = await _config(session, org_id)
    if config is None:
        return 0
    now = now or utcnow()
    if events is None:
        events = await events_queries.new_events_of_org(session, org_id=org_id, event_pks=event_ids)
    matched: list[_Match] = []
    planned: set[tuple[int, int]] = set()
    for event_id in event_ids:
        event = events.get(event_id)
        if event is None or event.org_id != org_id or now - event.received_at > MAX_EVENT_AGE:
            continue
        payload: dict[str, Any] | None = None
        for rule in config.rules:
            if not matches(
                spec_of(rule),
                field=event.field,
                kind=event.kind,
                severity=event.severity,
                waba_id=event.waba_id,
            ):
                continue
            for channel_id in config.channel_ids.get(rule.id, []):
                channel = config.channels.get(channel_id)
                if channel is None or (event.id, channel_id) in planned:
                    continue
                planned.add((event.id, channel_id))
                if payload is None:
                    name = config.waba_names.get(event.waba_id or "")
                    payload = event_payload(event, org_slug=config.org_slug, waba_name=name)
                matched.append(_Match(rule, channel, event, payload))
    plan = _Plan(groups=await _groups(session, matched, now=now))
    for match in matched:
        _plan(session, plan, match, now=now)
    if plan.rows:  # one statement for the batch's alerts (the ORM would insert them one by one on SQLite)
        await session.execute(insert(AlertDelivery), plan.rows)
    return len(matched)


@dataclass(frozen=True)
class _Match:
    """A new event, a rule it matches and one of the rule's channels: one alert row to plan."""

    rule: AlertRule
    channel: AlertChannel
    event: Event
    payload: dict[str, Any]

    @property
    def group_key(self) -> str:
        return f"{self.event.waba_id or '-'}|{self.event.field}|{self.event.kind}"[:300]

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=max(self.rule.throttle_minutes, 0))

    @property
    def throttled(self) -> bool:
        """Storm control applies: a window, and a channel that is not on daily digest."""
        return bool(self.window) and not self.channel.daily_digest


@dataclass
class _Group:
    """What storm control knows of one (rule, channel, group key): when the last alert within the
    window was made, and the follow-up still waiting, if any."""

    first_at: datetime | None
    followup: AlertDelivery | None


GroupKey = tuple[int, int, str]  # (rule id, channel id, group key)


@dataclass
class _Plan:
    """One call of ``enqueue_for_events``: its groups, and the alert rows it will insert."""

    groups: dict[GroupKey, _Group]
    rows: list[dict[str, Any]] = field(default_factory=list)


async def _groups(
    session: AsyncSession, matched: Sequence[_Match], *, now: datetime
) -> dict[GroupKey, _Group]:
    """The storm-control groups the matches fall in, read at once: two queries for a whole batch."""
    windows: dict[GroupKey, timedelta] = {}
    for match in matched:
        if match.throttled:
            windows[(match.rule.id, match.channel.id, match.group_key)] = match.window
    if not windows:
        return {}
    last = await queries.last_alerts_in_windows(session, list(windows), since=now - max(windows.values()))
    first: dict[GroupKey, datetime] = {
        key: at
        for key, at in last.items()
        if at >= now - windows[key]  # within the longest window read, and within this rule's
    }
    # A follow-up waits only in a group that had an alert within its window.
    followups = await queries.pending_followups(session, list(first))
    return {key: _Group(first.get(key), followups.get(key)) for key in windows}


def _plan(session: AsyncSession, plan: _Plan, match: _Match, *, now: datetime) -> None:
    rule, channel, event, payload = match.rule, match.channel, match.event, match.payload
    common: dict[str, Any] = {"channel_id": channel.id, "rule_id": rule.id, "group_key": match.group_key}
    if channel.daily_digest:
        plan.rows.append(
            _values(
                rule.org_id,
                DeliveryKind.ALERT,
                now=now,
                event_id=event.id,
                payload=payload,
                status=DeliveryStatus.HELD,
                **common,
            )
        )
        return
    group = plan.groups.get((rule.id, channel.id, match.group_key)) if match.throttled else None
    if group is None or group.first_at is None:
        plan.rows.append(
            _values(rule.org_id, DeliveryKind.ALERT, now=now, event_id=event.id, payload=payload, **common)
        )
        if group is not None:
            group.first_at = now
        return
    if group.followup is None:
        group.followup = _row(
            rule.org_id, DeliveryKind.FOLLOWUP, now=now, run_at=group.first_at + match.window, **common
        )
        session.add(group.followup)
    group.followup.group_count = (group.followup.group_count or 0) + 1
    group.followup.payload = {
        **payload,
        "count": group.followup.group_count,
        "window_minutes": rule.throttle_minutes,
    }


async def enqueue_test(
    session: AsyncSession, *, org_id: int, org_slug: str, channel: AlertChannel, by: str
) -> AlertDelivery:
    row = _row(
        org_id,
        DeliveryKind.TEST,
        now=utcnow(),
        channel_id=channel.id,
        max_attempts=1,
        payload={
            "title": "Test alert from wabawatch",
            "summary": f"{by} sent this test to check that alerts reach {channel.label}.",
            "link": f"/o/{org_slug}/alerts",
            "link_label": "Alert settings",
        },
    )
    session.add(row)
    await session.flush()
    return row


async def enqueue_notice(
    session: AsyncSession, *, org_id: int, to: Sequence[str], title: str, summary: str, link: str
) -> AlertDelivery | None:
    """Mail to people (not a channel): the org's admins, told that a channel was disabled."""
    if not to:
        return None
    row = _row(
        org_id,
        DeliveryKind.NOTICE,
        now=utcnow(),
        payload={
            "to": list(to),
            "title": title,
            "summary": summary,
            "link": link,
            "link_label": "Alert settings",
        },
    )
    session.add(row)
    await session.flush()
    return row
