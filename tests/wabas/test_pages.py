"""The org overview's WABA cards, the WABA page and the phone-number page (with its tier chart)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx2

from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.wabas.models import PhoneNumber, Waba
from tests.factories import Personas, login
from tests.support.timeline import (
    PHONE,
    WABA_A,
    WABA_B,
    deliver,
    make_world,
    name_update,
    quality,
    restriction,
    security,
)

WABA_C = "109999999999999"
REVIEWED = datetime(2025, 11, 24, 16, 0, tzinfo=UTC)


def card_order(html: str) -> list[str]:
    return re.findall(r'data-testid="waba-card">\s*<h3><a [^>]+>([^<]+)</a>', html)


async def test_overview_shows_state_and_puts_what_needs_attention_first(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(
        db,
        {
            WABA_A: (personas.org, "Alpha calm"),
            WABA_B: (personas.org, "Bravo restricted"),
            WABA_C: (personas.org_other, "Other org's"),
        },
    )
    await deliver(db, world, WABA_A, quality("UPGRADE", "TIER_10K"))
    await deliver(db, world, WABA_A, name_update("APPROVED", "Alpha Shop"))
    await deliver(db, world, WABA_B, restriction("RESTRICTED_BIZ_INITIATED_MESSAGING", 1_765_000_000))
    await deliver(db, world, WABA_B, security("PIN_RESET_REQUEST", phone="15550002222"))
    await deliver(db, world, WABA_C, security("PIN_RESET_REQUEST", requester="other-org-secret"))
    await login(client, personas.viewer)

    page = await client.get("/o/acme")
    assert page.status_code == 200
    assert card_order(page.text) == ["Bravo restricted", "Alpha calm"]
    assert "Other org" not in page.text
    assert "other-org-secret" not in page.text
    assert "can&#39;t start conversations with customers until 2025-12-06 05:46 UTC" in page.text
    assert "RESTRICTED_" not in page.text
    assert "2 critical, 0 warning" in page.text  # the restriction and the PIN reset request
    assert "0 critical, 0 warning" in page.text
    assert 'data-testid="phone-tier">10,000 conversations a day</td>' in page.text
    assert "TIER_" not in page.text
    # UPGRADE is news about the limit tier, not a quality rating: nobody has rated it yet.
    assert 'data-testid="phone-quality">not known</td>' in page.text
    assert 'data-testid="phone-name-status">approved' in page.text
    assert "+1 555-078-3881" in page.text


async def test_overview_without_wabas_says_so(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.viewer)
    page = await client.get("/o/acme")
    assert "No WhatsApp Business Account is connected yet." in page.text


async def test_waba_page_shows_state_and_its_own_events_only(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Alpha"), WABA_B: (personas.org, "Bravo")})
    await deliver(db, world, WABA_A, name_update("REJECTED", "<script>alert(1)</script>", "Bad name"))
    await deliver(db, world, WABA_B, security("PIN_CHANGED", phone="15550002222"))
    await login(client, personas.viewer)
    page = await client.get(f"/o/acme/wabas/{world.wabas[WABA_A].id}")
    assert page.status_code == 200
    assert page.text.count('data-testid="event-row"') == 1
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert f"waba={WABA_A}" in page.text  # the full, filtered timeline
    # The rejected name is what is painted, not a quality nobody has rated.
    assert '<td class="bad" data-testid="phone-name-status">rejected' in page.text
    assert '<td data-testid="phone-quality">not known</td>' in page.text


async def test_phone_page_charts_quality_and_tier_history(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Alpha")})
    await deliver(db, world, WABA_A, quality("ONBOARDING", "TIER_250"))
    await deliver(db, world, WABA_A, quality("UPGRADE", "TIER_1K"))
    await deliver(db, world, WABA_A, quality("FLAGGED", "TIER_1K"))
    await deliver(db, world, WABA_A, quality("DOWNGRADE", "TIER_250"))
    await deliver(db, world, WABA_A, quality("UPGRADE", "TIER_SOMETHING_NEW"))
    await login(client, personas.viewer)
    overview = await client.get("/o/acme")
    phone_link = re.search(r'href="(?:http://testserver)?(/o/acme/wabas/\d+/phones/\d+)"', overview.text)
    assert phone_link is not None
    page = await client.get(phone_link.group(1))
    assert page.status_code == 200
    assert 'data-testid="tier-chart"' in page.text
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    assert svg.count("<circle") == 5
    for css in ("bad", "warn", "good", "neutral"):
        assert f'class="dot {css}"' in svg
    assert "style=" not in svg  # the CSP allows no inline style
    assert "<script" not in svg
    assert "TIER_SOMETHING_NEW" in page.text  # listed, not drawn at a made-up height
    assert page.text.count('data-testid="event-row"') == 5
    assert 'code: TIER_SOMETHING_NEW">TIER_SOMETHING_NEW<' in page.text  # unknown to us: the code itself


async def test_phone_page_without_history_says_so(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Alpha")})
    await deliver(db, world, WABA_A, security("PIN_CHANGED"))
    await login(client, personas.viewer)
    overview = await client.get("/o/acme")
    phone_link = re.search(r'href="(?:http://testserver)?(/o/acme/wabas/\d+/phones/\d+)"', overview.text)
    assert phone_link is not None
    page = await client.get(phone_link.group(1))
    assert 'data-testid="no-history"' in page.text
    assert PHONE[-4:] in page.text


async def test_another_orgs_waba_and_phone_are_404(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(
        db, {WABA_A: (personas.org_other, "Bravo secret"), WABA_B: (personas.org, "Mine")}
    )
    await deliver(db, world, WABA_A, security("PIN_CHANGED"))
    await deliver(db, world, WABA_B, security("PIN_CHANGED", phone="15550002222"))
    await login(client, personas.viewer)
    theirs = world.wabas[WABA_A].id
    mine = world.wabas[WABA_B].id
    page = await client.get(f"/o/acme/wabas/{theirs}")
    assert page.status_code == 404
    assert "Bravo secret" not in page.text
    own = await client.get("/o/acme")
    my_phone = re.search(rf'href="(?:http://testserver)?/o/acme/wabas/{mine}/phones/(\d+)"', own.text)
    assert my_phone is not None
    their_phone_pk = int(my_phone.group(1)) - 1  # the other org's number was created first
    assert (await client.get(f"/o/acme/wabas/{theirs}/phones/{their_phone_pk}")).status_code == 404
    assert (await client.get(f"/o/acme/wabas/{mine}/phones/{their_phone_pk}")).status_code == 404
    assert (await client.get(f"/o/acme/wabas/{mine}/phones/{my_phone.group(1)}")).status_code == 200
    client.cookies.clear()
    await login(client, personas.outsider)
    assert (await client.get(f"/o/acme/wabas/{mine}")).status_code == 404


async def test_graph_synced_state_fills_what_no_webhook_said(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Alpha"), WABA_B: (personas.org, "Bravo")})
    async with db.transaction() as session:
        waba = await session.get(Waba, world.wabas[WABA_A].id)
        assert waba is not None
        waba.subscribed = True
        waba.account_review_status = "APPROVED"
        session.add(
            PhoneNumber(
                org_id=personas.org.id, waba_pk=waba.id, digits="15550009999", quality_rating="RED",
                messaging_limit_tier="TIER_250", name_status="APPROVED",
            )
        )  # fmt: skip
    await login(client, personas.viewer)
    page = await client.get("/o/acme")
    assert 'data-testid="subscription">subscribed<' in page.text
    assert 'data-testid="subscription">not checked yet<' in page.text  # Bravo: never checked
    assert 'data-testid="review">approved<' in page.text
    assert '<td class="bad" data-testid="phone-quality">Low (RED)</td>' in page.text
    assert 'data-testid="phone-tier">250 conversations a day<' in page.text
    assert 'data-testid="review-note"' not in page.text  # nothing to reconcile


async def test_a_review_the_webhook_and_the_graph_sync_disagree_on_says_which_is_newer(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Alpha")})
    rejected = {"field": "account_review_update", "value": {"decision": "REJECTED"}}
    await deliver(db, world, WABA_A, rejected, time=int(REVIEWED.timestamp()))
    async with db.transaction() as session:
        waba = await session.get(Waba, world.wabas[WABA_A].id)
        assert waba is not None
        waba.account_review_status = "APPROVED"
        waba.synced_at = REVIEWED + timedelta(hours=2)
    await login(client, personas.viewer)
    page = (await client.get("/o/acme")).text
    note = re.search(r'data-testid="review-note">([^<]*)<', page)
    assert note is not None
    assert note.group(1) == (
        "Meta disagrees with itself: the Graph sync said approved (2025-11-24 18:00 UTC), which is newer; "
        "the webhook said rejected (2025-11-24 16:00 UTC)."
    )
    async with db.transaction() as session:
        waba = await session.get(Waba, world.wabas[WABA_A].id)
        assert waba is not None
        waba.synced_at = REVIEWED - timedelta(hours=2)
    page = (await client.get("/o/acme")).text
    assert "the webhook said rejected (2025-11-24 16:00 UTC), which is newer" in page


async def test_the_quality_column_shows_the_rating_never_an_event_name(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Alpha")})
    await login(client, personas.viewer)
    for event in ("ONBOARDING", "UPGRADE", "THROUGHPUT_UPGRADE", "DOWNGRADE"):
        await deliver(db, world, WABA_A, quality(event, "TIER_1K"))
        cell = re.search(
            r'<td([^>]*) data-testid="phone-quality">([^<]*)</td>', (await client.get("/o/acme")).text
        )
        assert cell is not None
        assert (cell.group(1), cell.group(2)) == ("", "not known"), event  # and never painted red
    await deliver(db, world, WABA_A, quality("FLAGGED", "TIER_1K"))
    page = (await client.get("/o/acme")).text
    assert '<td class="bad" data-testid="phone-quality">Low (RED)</td>' in page
    # A later change of the limit says nothing about the rating: it stays low until Meta unflags it.
    await deliver(db, world, WABA_A, quality("DOWNGRADE", "TIER_250"))
    page = (await client.get("/o/acme")).text
    assert '<td class="bad" data-testid="phone-quality">Low (RED)</td>' in page
    await deliver(db, world, WABA_A, quality("UNFLAGGED", "TIER_250"))
    page = (await client.get("/o/acme")).text
    assert '<td data-testid="phone-quality">no longer flagged</td>' in page


async def test_overview_card_says_when_a_subscribed_waba_is_verified_but_silent(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(
        db, {WABA_A: (personas.org, "Alpha quiet"), WABA_B: (personas.org, "Bravo busy")}
    )
    now = utcnow()
    async with db.transaction() as session:
        for waba_id, quiet in ((WABA_A, timedelta(hours=30)), (WABA_B, timedelta(hours=1))):
            found = await session.get(Waba, world.wabas[waba_id].id)
            assert found is not None
            found.subscribed, found.subscribed_at, found.last_event_at = (
                True,
                now - timedelta(days=9),
                now - quiet,
            )
    await login(client, personas.viewer)
    page = await client.get("/o/acme")
    subscriptions = re.findall(r'data-testid="subscription"[^>]*>([^<]+)</dd>', page.text)
    assert sorted(subscriptions) == [
        "subscribed",
        "verified but silent: subscribed, yet no event for 30 hours",
    ]
