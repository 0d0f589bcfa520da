"""The org's WABAs and numbers as the timeline's pickers show them (``app.events.directory``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.events.directory import Choice, OrgChoices
from app.lib import phones
from app.wabas import queries


async def org_choices(session: AsyncSession, org_id: int) -> OrgChoices:
    """Two queries, whatever the number of WABAs: WABAs by name, then every number with its name and WABA."""
    wabas = await queries.wabas_of_org(session, org_id)
    names = {w.id: w.name or f"WABA {w.waba_id}" for w in wabas}
    numbers = await queries.phones_of_wabas(session, org_id=org_id, waba_pks=list(names))
    return OrgChoices(
        wabas=tuple(Choice(w.waba_id, f"{names[w.id]} ({w.waba_id})") for w in wabas),
        phones=tuple(
            Choice(
                f"+{p.digits}",
                " · ".join(x for x in (phones.pretty(p.digits), p.verified_name, names[p.waba_pk]) if x),
            )
            for p in sorted(numbers, key=lambda p: (names[p.waba_pk].lower(), p.digits or ""))
            if p.digits
        ),
    )
