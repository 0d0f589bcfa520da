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
from app.lib.timeutil import utcnow
from app.wabas import queries, silence
from app.wabas.models import PhoneNumber, StateEntry, Waba

_BAD_BAN = ("DISABLE", "SCHEDULE_FOR_DISABLE")
_BAD_QUALITY = ("RED", "YELLOW")
# Meta's quality ratings in words (the code stays visible beside them).
QUALITY_WORDS = {
    "GREEN": "High",
    "YELLOW": "Medium",
    "RED": "Low",
    "UNKNOWN": "Not rated yet",
    "NA": "Not rated yet",
}


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
        rating = self.state.get("quality", {}).get("rating")
        return str(rating) if rating else self.phone.quality_rating

    @property
    def quality_text(self) -> str:
        """The rating in words with its code, such as "Low (RED)"; "not known" when nobody has said."""
        rating = self.quality
        if not rating:
            return "not known"
        words = QUALITY_WORDS.get(rating)
        return f"{words} ({rating})" if words else rating

    @property
    def tier(self) -> str | None:
        return str(self.state.get("messaging_limit", {}).get("tier") or "") or self.phone.messaging_limit_tier

    @property
    def name_status(self) -> str | None:
        return str(self.state.get("name", {}).get("status") or "") or self.phone.name_status

    @property
    def requested_name(self) -> str | None:
        return str(self.state.get("name", {}).get("requested_name") or "") or None

    @property
    def needs_attention(self) -> bool:
        return self.quality in _BAD_QUALITY or self.name_status == "REJECTED"


@dataclass
class WabaCard:
    waba: Waba
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    phones: list[PhoneCard] = field(default_factory=list)
    open_warning: int = 0
    open_critical: int = 0

    @property
    def review(self) -> str | None:
        return str(self.state.get("review", {}).get("decision") or "") or self.waba.account_review_status

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


async def _cards(session: AsyncSession, *, org_id: int, wabas: list[Waba]) -> list[WabaCard]:
    if not wabas:
        return []
    pks = [w.id for w in wabas]
    phone_rows = await queries.phones_of_wabas(session, org_id=org_id, waba_pks=pks)
    state = _state_by_subject(await queries.state_of_wabas(session, org_id=org_id, waba_pks=pks))
    counts = await events_queries.open_counts(session, org_id=org_id)
    cards = {w.id: WabaCard(w, state.get((w.id, "waba"), {})) for w in wabas}
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
