"""What the staff pages render besides their own templates: links for the customer's cards that
stay inside /staff, and the cards of the WABAs a search found."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from app.staff.queries import OrgHit
from app.wabas import overview
from app.wabas.overview import PhoneCard, WabaCard

CARDS_FOR_HITS = 2  # the best hits show their matched WABAs' cards
CARDS_PER_HIT = 3  # at most this many each


@dataclass(frozen=True)
class StaffLinks:
    """Where ``wabas/_card.html``'s links go on staff pages: the org's staff timeline, filtered."""

    events_url: str

    @property
    def timeline(self) -> str:
        return self.events_url

    def waba(self, card: WabaCard) -> str:
        return f"{self.events_url}?{urlencode({'waba': card.waba.waba_id})}"

    def phone(self, card: WabaCard, phone: PhoneCard) -> str:
        if phone.phone.digits:
            return f"{self.events_url}?{urlencode({'phone': '+' + phone.phone.digits})}"
        return self.waba(card)


def links_for(request: Request, org_slug: str) -> StaffLinks:
    return StaffLinks(str(request.url_for("staff:events", org_slug=org_slug).path))


async def hit_cards(session: AsyncSession, hits: list[OrgHit]) -> dict[int, list[WabaCard]]:
    """The cards of the WABAs that matched, for the first ``CARDS_FOR_HITS`` orgs; an org found by
    its name, an email or its app shows its most urgent WABAs instead."""
    out: dict[int, list[WabaCard]] = {}
    for hit in hits[:CARDS_FOR_HITS]:
        cards = []
        for waba_pk in hit.waba_pks[:CARDS_PER_HIT]:
            card = await overview.waba_card(session, org_id=hit.org.id, waba_pk=waba_pk)
            if card is not None:
                cards.append(card)
        if not hit.waba_pks:
            cards = (await overview.overview(session, org_id=hit.org.id))[:CARDS_PER_HIT]
        out[hit.org.id] = cards
    return out
