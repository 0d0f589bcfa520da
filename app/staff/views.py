"""What staff read first about an org: the customer's own overview cards (``app.wabas.overview``),
and above them one sentence per thing that needs a human — which WABA or number, what happened,
since when, why, and what to do — in words, Meta's codes only as a detail.

The sentences are built from the same cards and state the customer's overview shows, the reasons
from the account's last violation, and the next steps from the events' explanations
(``app.events.explanations``), so staff and customer read one account the same way. "Verified but
silent" is the one rule the overview card and the connection page read (``app.wabas.silence``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.events.explanations import explanation_for
from app.lib import words
from app.lib.timeutil import when
from app.lib.vocabulary import say
from app.wabas import queries as wabas_queries
from app.wabas.overview import WabaCard

NO_REASON = "because of a reason Meta's webhook did not give (Business Support Home shows it)"
SILENT_NEXT = (
    "Check the app's callback URL and subscribed fields in Meta's App Dashboard, and the "
    "subscription on the WABA's connection page."
)


@dataclass(frozen=True)
class Attention:
    """One thing that needs a human: ``headline`` says what, since when and why; ``next_steps``
    what to do; ``code`` Meta's value behind it."""

    waba_pk: int
    severity: str  # critical or warning
    headline: str
    next_steps: str
    code: str = ""


def _when(moment: object) -> str:
    return when(moment) if moment else "a time not known"


def _waba_label(card: WabaCard) -> str:
    return words.waba_subject(card.waba.name, card.waba.waba_id)


def _because(card: WabaCard) -> str:
    violation = card.state.get("violation", {}).get("violation_type") or card.state.get(
        "restriction", {}
    ).get("violation_type")
    return f"because of a policy violation: {say('violation', violation)}" if violation else NO_REASON


def _about_waba(card: WabaCard, since: dict[str, datetime]) -> list[Attention]:
    out = []
    label, pk = _waba_label(card), card.waba.id
    if card.ban:
        state = str(card.ban.get("state") or "")
        date = _when(card.ban.get("date") or since.get("ban"))
        verb = "disabled since" if state == "DISABLE" else "to be disabled on"
        steps = explanation_for("account_update", "disabled_update").next_steps
        out.append(Attention(pk, "critical", f"{label} {verb} {date}, {_because(card)}.", steps, state))
    if card.restrictions:
        kinds = "; ".join(card.restriction_texts)
        steps = explanation_for("account_update", "account_restriction").next_steps
        headline = f"{label} restricted since {_when(since.get('restriction'))} ({kinds}), {_because(card)}."
        out.append(Attention(pk, "critical", headline, steps, "account_restriction"))
    if card.review == "REJECTED":
        steps = explanation_for("account_review_update", "rejected").next_steps
        headline = f"{label} was rejected in Meta's account review ({_when(since.get('review'))})."
        out.append(Attention(pk, "critical", headline, steps, "REJECTED"))
    for phone in card.phones:
        if phone.quality in ("RED", "YELLOW"):
            steps = explanation_for("phone_number_quality_update", "downgrade").next_steps
            moment = since.get(f"phone:{phone.phone.id}/quality")
            headline = (
                f"Number {phone.label} of {label} has {phone.quality_text} quality since {_when(moment)}."
            )
            out.append(Attention(pk, "warning", headline, steps, str(phone.quality)))
        if phone.name_status == "REJECTED":
            steps = explanation_for("phone_number_name_update", "rejected").next_steps
            name = f" “{phone.requested_name}”" if phone.requested_name else ""
            reason = phone.name_reason_text
            headline = f"Display name{name} of {phone.label} ({label}) was rejected" + (
                f", because: {reason}." if reason else "."
            )
            out.append(Attention(pk, "warning", headline, steps, "REJECTED"))
    return out


async def _since(
    session: AsyncSession, *, org_id: int, cards: list[WabaCard]
) -> dict[int, dict[str, datetime]]:
    """When each state entry last moved: {WABA pk: {"ban": …, "phone:7/quality": …}}."""
    entries = await wabas_queries.state_of_wabas(session, org_id=org_id, waba_pks=[c.waba.id for c in cards])
    out: dict[int, dict[str, datetime]] = {}
    for entry in entries:
        key = entry.key if entry.subject == "waba" else f"{entry.subject}/{entry.key}"
        out.setdefault(entry.waba_pk, {})[key] = entry.occurred_at
    return out


async def attention(session: AsyncSession, *, org_id: int, cards: list[WabaCard]) -> list[Attention]:
    """Everything that needs a human across the org's WABAs, critical first, in the cards' order."""
    since = await _since(session, org_id=org_id, cards=cards)
    out: list[Attention] = []
    for card in cards:
        out += _about_waba(card, since.get(card.waba.id, {}))
        quiet = card.silent_for
        if quiet is not None:
            hours = int(quiet.total_seconds() // 3600)
            headline = (
                f"{_waba_label(card)} is verified but silent: subscribed, yet no event has arrived "
                f"for {hours} hours (since {_when(card.waba.last_event_at or card.waba.connected_at)})."
            )
            out.append(Attention(card.waba.id, "warning", headline, SILENT_NEXT, "silent"))
    return sorted(out, key=lambda a: a.severity != "critical")
