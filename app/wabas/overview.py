"""Read models for the org overview and the WABA and phone-number pages (reads only, org-scoped).

A ``WabaCard`` gathers one WABA's current state (from ``state_entries``), its phone numbers' state,
its last event time and its open events (warning and critical, not yet acknowledged). The overview
lists cards most urgent first: banned/restricted/rejected accounts, then open critical events, then
open warnings, then flagged or downgraded numbers, then by name. The whole overview costs four
queries whatever the number of WABAs.

Webhook state (newer, event by event) wins; the Graph sync's columns (review status, a number's
quality rating, tier and name status) fill what no webhook has said yet. Subscription state is
the Graph-checked ``Waba.subscribed``; before any check the card says it is not known, and a
subscribed WABA that heard nothing for too long says so (app.wabas.silence).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.events import queries as events_queries
from app.lib import phones
from app.lib.timeutil import utcnow, when
from app.lib.vocabulary import say, say_with_code
from app.wabas import queries, silence
from app.wabas.models import PhoneNumber, StateEntry, Waba

_BAD_BAN = ("DISABLE", "SCHEDULE_FOR_DISABLE")
_BAD_QUALITY = ("RED", "YELLOW")


@dataclass
class PhoneCard:
    phone: PhoneNumber
    state: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.phone.digits:
            return phones.pretty(self.phone.digits)
        return self.phone.display_phone_number or f"number id {self.phone.phone_number_id}"

    @property
    def quality(self) -> str | None:
        """The quality rating (GREEN, YELLOW, RED, UNKNOWN): what the last webhook implied (FLAGGED
        means it dropped to RED), else the Graph sync's. A webhook's event (ONBOARDING, UPGRADE, …)
        is news about the number, not its rating."""
        said = self.state.get("quality", {})
        if said.get("rating"):
            return str(said["rating"])
        if said.get("flagged") is False:  # unflagged: no longer low, and Meta did not say what it is
            return None
        return self.phone.quality_rating

    @property
    def quality_text(self) -> str:
        """The rating in words with its code, such as "Low (RED)"; "no longer flagged" after Meta
        unflagged the number without a rating; "not known" when nobody has said."""
        if self.quality is None and self.state.get("quality", {}).get("flagged") is False:
            return "no longer flagged"
        return say_with_code("quality", self.quality)

    @property
    def tier(self) -> str | None:
        return str(self.state.get("messaging_limit", {}).get("tier") or "") or self.phone.messaging_limit_tier

    @property
    def tier_text(self) -> str:
        """ "10,000 conversations a day"; the phone page keeps Meta's code in the cell's title, and
        the event that set it shows the code beside the words."""
        return say("tier", self.tier)

    @property
    def name_status(self) -> str | None:
        return str(self.state.get("name", {}).get("status") or "") or self.phone.name_status

    @property
    def name_status_text(self) -> str:
        return say("name_status", self.name_status)

    @property
    def requested_name(self) -> str | None:
        return str(self.state.get("name", {}).get("requested_name") or "") or None

    @property
    def name_reason_text(self) -> str | None:
        """Why Meta rejected the requested name, in words, when the last decision was a rejection."""
        name = self.state.get("name", {})
        if name.get("status") not in ("REJECTED", "DECLINED") or not name.get("reason"):
            return None
        return say_with_code("name_rejection", name.get("reason"))

    @property
    def security_text(self) -> str | None:
        """The last two-step verification change ("two-step PIN reset asked for by Business Suite
        user 123"), None when none was seen."""
        security = self.state.get("security", {})
        if not security.get("event"):
            return None
        words = say("security_event", security.get("event"))
        requester = security.get("requester")
        return f"{words} by Business Suite user {requester}" if requester else words

    @property
    def quality_is_bad(self) -> bool:
        return self.quality in _BAD_QUALITY

    @property
    def name_rejected(self) -> bool:
        return self.name_status in ("REJECTED", "DECLINED")

    @property
    def needs_attention(self) -> bool:
        return self.quality_is_bad or self.name_rejected


@dataclass
class WabaCard:
    waba: Waba
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    phones: list[PhoneCard] = field(default_factory=list)
    state_at: dict[str, datetime] = field(default_factory=dict)  # when each state key last moved
    open_warning: int = 0
    open_critical: int = 0

    @property
    def review(self) -> str | None:
        return str(self.state.get("review", {}).get("decision") or "") or self.waba.account_review_status

    @property
    def review_text(self) -> str:
        return say("review", self.review)

    @property
    def review_note(self) -> str | None:
        """When the webhook's review decision and the Graph sync's review status disagree, which of
        the two is newer (the card shows the webhook's, which is newer event by event)."""
        hooked = self.state.get("review", {}).get("decision")
        synced = self.waba.account_review_status
        if not hooked or not synced or hooked == synced:
            return None
        hooked_at, synced_at = self.state_at.get("review"), self.waba.synced_at
        said = f"the webhook said {say('review', hooked)} ({when(hooked_at)})"
        polled = f"the Graph sync said {say('review', synced)} ({when(synced_at)})"
        if hooked_at and synced_at and synced_at > hooked_at:
            return f"Meta disagrees with itself: {polled}, which is newer; {said}."
        return f"Meta disagrees with itself: {said}, which is newer; {polled}."

    @property
    def ban_text(self) -> str | None:
        """ "Disabled (2026-12-03)" or "To be disabled (2026-12-03)"; None when not banned."""
        ban = self.ban
        if ban is None:
            return None
        words = say("ban_state", ban.get("state")).capitalize()
        return f"{words} ({when(ban['date'])})" if ban.get("date") else words

    @property
    def restriction_texts(self) -> list[str]:
        """Each restriction in words with its end: "can't add phone numbers until 2026-12-01 00:00 UTC"."""
        texts = []
        for item in self.restrictions:
            words = say("restriction", item.get("type")) if item.get("type") else "restricted"
            expires = item.get("expires_at")
            texts.append(f"{words} until {when(expires)}" if expires else f"{words} until further notice")
        return texts

    @property
    def ban(self) -> dict[str, Any] | None:
        ban = self.state.get("ban")
        return ban if ban and ban.get("state") in _BAD_BAN else None

    @property
    def restrictions(self) -> list[dict[str, Any]]:
        found = self.state.get("restriction", {}).get("restrictions")
        return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []

    @property
    def subscribed(self) -> bool | None:
        return self.waba.subscribed

    @property
    def silent_for(self) -> timedelta | None:
        """Verified but silent (app.wabas.silence): subscribed, yet nothing arrived for too long."""
        return silence.silent_for(self.waba, utcnow())

    @property
    def silent_hours(self) -> int:
        quiet = self.silent_for
        return silence.hours(quiet) if quiet is not None else 0

    @property
    def last_event_at(self) -> datetime | None:
        return self.waba.last_event_at

    @property
    def attention(self) -> tuple[int, ...]:
        """Sort key, most urgent first (negated so that ``sorted`` puts it first)."""
        blocked = bool(self.ban or self.restrictions or self.review == "REJECTED")
        return (
            -int(blocked),
            -self.open_critical,
            -self.open_warning,
            -sum(p.needs_attention for p in self.phones),
            -int(self.silent_for is not None),
        )


def _state_by_subject(entries: list[StateEntry]) -> dict[tuple[int, str], dict[str, dict[str, Any]]]:
    by: dict[tuple[int, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for entry in entries:
        by[(entry.waba_pk, entry.subject)][entry.key] = dict(entry.value)
    return by


def _times_of_waba_state(entries: list[StateEntry]) -> dict[int, dict[str, datetime]]:
    by: dict[int, dict[str, datetime]] = defaultdict(dict)
    for entry in entries:
        if entry.subject == "waba":
            by[entry.waba_pk][entry.key] = entry.occurred_at
    return by


async def _cards(session: AsyncSession, *, org_id: int, wabas: list[Waba]) -> list[WabaCard]:
    if not wabas:
        return []
    pks = [w.id for w in wabas]
    phone_rows = await queries.phones_of_wabas(session, org_id=org_id, waba_pks=pks)
    entries = await queries.state_of_wabas(session, org_id=org_id, waba_pks=pks)
    state, times = _state_by_subject(entries), _times_of_waba_state(entries)
    counts = await events_queries.open_counts(session, org_id=org_id)
    cards = {w.id: WabaCard(w, state.get((w.id, "waba"), {}), state_at=times.get(w.id, {})) for w in wabas}
    for phone in phone_rows:
        cards[phone.waba_pk].phones.append(
            PhoneCard(phone, state.get((phone.waba_pk, f"phone:{phone.id}"), {}))
        )
    for card in cards.values():
        by_severity = counts.get(card.waba.waba_id, {})
        card.open_warning = by_severity.get(1, 0)
        card.open_critical = sum(n for sev, n in by_severity.items() if sev >= 2)
    return list(cards.values())


async def overview(session: AsyncSession, *, org_id: int) -> list[WabaCard]:
    """Every WABA of the org as a card, most urgent first."""
    wabas = await queries.wabas_of_org(session, org_id)
    cards = await _cards(session, org_id=org_id, wabas=wabas)
    return sorted(cards, key=lambda c: (*c.attention, c.waba.name.lower(), c.waba.waba_id))


async def waba_card(session: AsyncSession, *, org_id: int, waba_pk: int) -> WabaCard | None:
    """One WABA of the org as a card; None for another org's WABA (the page answers 404)."""
    waba = await queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
    if waba is None:
        return None
    return (await _cards(session, org_id=org_id, wabas=[waba]))[0]
