"""A demo-like org, fed every example payload Meta documents plus the codes people meet most
(restrictions, a ban, a rejected name, tiers) and a Graph sync: no page shows Meta's codes bare
or a Python value. A code may stay only as a detail, in brackets after its words ("Low (RED)"),
in a <code> element, or in the raw change."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import httpx2

from app.db.engine import Database
from app.wabas.models import PhoneNumber, Waba
from tests.factories import Personas, login
from tests.support.payloads import META_FIXTURES, changes_of
from tests.support.timeline import (
    WABA_A,
    WABA_B,
    deliver,
    events_of,
    make_world,
    name_update,
    quality,
    restriction,
)

FORBIDDEN = re.compile(
    r"TIER_|RESTRICTED_|NAME_[A-Z]|PENDING_REVIEW|SCHEDULE_FOR_DISABLE|\bNone\b|\bTrue\b|\bFalse\b"
)
_HIDDEN = re.compile(r"<(script|style|pre|code)\b.*?</\1>", flags=re.S | re.I)
_CODE_AFTER_WORDS = re.compile(r"(?<=[\w',)]) \([A-Z][A-Z0-9_]+\)")


def visible_text(page: str) -> str:
    """What a person reads: no scripts, raw payloads or <code> details, no markup, and codes kept
    in brackets after their words dropped."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", _HIDDEN.sub(" ", page)))
    return _CODE_AFTER_WORDS.sub("", " ".join(text.split()))


def links(page: str, pattern: str) -> list[str]:
    return sorted(set(re.findall(rf'href="(?:http://testserver)?({pattern})"', page)))


async def test_no_page_of_a_demo_like_org_shows_a_bare_code_or_a_python_value(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub"), WABA_B: (personas.org, "Bravo")})
    for path in sorted(META_FIXTURES.glob("*.json")):
        await deliver(db, world, WABA_A, *changes_of(path.stem))
    await deliver(db, world, WABA_B, restriction("RESTRICTED_ADD_PHONE_NUMBER_ACTION", 1_765_000_000))
    await deliver(db, world, WABA_B, restriction("RESTRICTED_BIZ_INITIATED_MESSAGING", 1_765_000_000))
    ban = {
        "event": "DISABLED_UPDATE",
        "ban_info": {"waba_ban_state": "SCHEDULE_FOR_DISABLE", "waba_ban_date": "December 03, 2026"},
    }
    await deliver(db, world, WABA_B, {"field": "account_update", "value": ban})
    await deliver(db, world, WABA_B, name_update("REJECTED", "Bravo Shop", "NAME_ENDCLIENT_NOTRELATED"))
    await deliver(db, world, WABA_B, quality("FLAGGED", "TIER_10K", phone="15550002222"))
    async with db.transaction() as session:
        synced = await session.get(Waba, world.wabas[WABA_B].id)
        assert synced is not None
        synced.account_review_status = "PENDING"
        synced.currency, synced.timezone_id = "USD", "1"
        synced.synced_at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        session.add(
            PhoneNumber(
                org_id=personas.org.id, waba_pk=synced.id, digits="15550003333", quality_rating="GREEN",
                messaging_limit_tier="TIER_2K", name_status="PENDING_REVIEW",
            )
        )  # fmt: skip
    await login(client, personas.admin)  # an admin also sees the Meta connection pages

    async def page(path: str) -> str:
        answer = await client.get(path)
        assert answer.status_code == 200, path
        return answer.text

    overview = await page("/o/acme")
    pages = {"/o/acme": overview, "/o/acme/events": await page("/o/acme/events")}
    for path in links(overview, r"/o/acme/wabas/\d+(?:/phones/\d+)?"):
        pages[path] = await page(path)
    for waba in world.wabas.values():
        path = f"/o/acme/wabas/{waba.id}/subscription"
        pages[path] = await page(path)
    for event in await events_of(db, personas.org):
        path = f"/o/acme/events/{event.id}"
        pages[path] = await page(path)
    assert len([p for p in pages if "/phones/" in p]) == 6

    shown = {path: FORBIDDEN.findall(visible_text(text)) for path, text in pages.items()}
    assert {path: found for path, found in shown.items() if found} == {}
    # Codes stay as details where a person may need them.
    assert "can't add phone numbers (RESTRICTED_ADD_PHONE_NUMBER_ACTION)" in "".join(
        html.unescape(text) for text in pages.values()
    )
    assert "To be disabled (2026-12-03)" in visible_text(overview)
    connection = pages[f"/o/acme/wabas/{world.wabas[WABA_B].id}/subscription"]
    assert "Time zone America/Los_Angeles (Meta's time zone 1)" in visible_text(connection)
    assert "Synced 2026-11-30 08:00 UTC" in visible_text(connection)
