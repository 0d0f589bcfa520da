"""The timeline's filters, keyset pages with filters, event detail and acknowledgement."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx2

from app.db.engine import Database
from tests.factories import Personas, csrf_token, login
from tests.support.timeline import (
    PHONE,
    T0,
    WABA_A,
    WABA_B,
    bulk_events,
    deliver,
    events_of,
    make_world,
    name_update,
    quality,
    restriction,
    security,
)

ROW_ID = re.compile(r'<tr id="event-(\d+)"')


def shown(html: str) -> list[int]:
    return [int(i) for i in ROW_ID.findall(html)]


async def _three_kinds(db: Database, personas: Personas) -> dict[str, int]:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub"), WABA_B: (personas.org, "Second")})
    await deliver(
        db, world, WABA_A, name_update("REJECTED", "Cheap Pills", "Name does not match the business")
    )
    await deliver(db, world, WABA_A, security("PIN_RESET_REQUEST", requester="mallory", phone="15550001111"))
    await deliver(db, world, WABA_B, quality("UPGRADE", "TIER_10K", phone="15550002222"))
    events = await events_of(db, personas.org)
    return {e.kind: e.id for e in events}


async def test_each_filter_narrows_the_timeline(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    ids = await _three_kinds(db, personas)
    await login(client, personas.viewer)

    async def ids_for(**params: str) -> set[int]:
        page = await client.get("/o/acme/events", params=params)
        assert page.status_code == 200, page.text
        return set(shown(page.text))

    assert await ids_for() == set(ids.values())
    assert await ids_for(field="security") == {ids["pin_reset_request"]}
    assert await ids_for(kind="rejected") == {ids["rejected"]}
    assert await ids_for(severity="critical") == {ids["pin_reset_request"]}
    assert await ids_for(severity="warning") == {ids["pin_reset_request"], ids["rejected"]}
    assert await ids_for(waba=WABA_B) == {ids["upgrade"]}
    assert await ids_for(phone="+1 (555) 000-1111") == {ids["pin_reset_request"]}
    assert await ids_for(phone="0015550002222") == {ids["upgrade"]}
    assert await ids_for(q="cheap pILLS") == {ids["rejected"]}  # the requested name, any case
    assert await ids_for(q="mallory") == {ids["pin_reset_request"]}  # the requester, in the details
    assert await ids_for(q="100%") == set()  # % is a character, not a wildcard
    assert await ids_for(field="security", waba=WABA_B) == set()


async def test_since_and_until_bound_the_time(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    start = int(T0.timestamp())
    for minute in range(5):
        await deliver(db, world, WABA_A, security("PIN_CHANGED"), time=start + minute * 60)
    events = await events_of(db, personas.org)
    await login(client, personas.viewer)
    page = await client.get(
        "/o/acme/events", params={"since": "2026-11-20T09:01:00Z", "until": "2026-11-20T10:03:00+01:00"}
    )
    assert page.status_code == 200
    assert shown(page.text) == [events[2].id, events[1].id]  # since inclusive, until exclusive
    # The filter form shows the values back, so the view can be shared as it is.
    assert 'value="2026-11-20T09:01:00Z"' in page.text
    assert 'value="2026-11-20T09:03:00Z"' in page.text


async def test_malformed_filters_are_a_400_that_says_why(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.viewer)
    for params, words in [
        ({"since": "yesterday"}, "ISO 8601"),
        ({"until": "2026-13-40"}, "ISO 8601"),
        ({"phone": "call me"}, "phone number"),
        ({"waba": "abc"}, "WABA id"),
        ({"since": "2026-11-21", "until": "2026-11-20"}, "later than"),
        ({"q": "x" * 201}, "longer than"),
    ]:
        page = await client.get("/o/acme/events", params=params)
        assert page.status_code == 400, params
        assert words in page.text, params
    for path in ("/o/acme/events.csv", "/o/acme/events.json"):
        export = await client.get(path, params={"since": "yesterday"})
        assert export.status_code == 400
        assert "ISO 8601" in export.text


async def test_filtered_pages_keep_the_filter_and_have_no_gaps_at_equal_times(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await bulk_events(db, world, personas.org, 120, at=T0)
    await deliver(
        db, world, WABA_A, quality("UPGRADE", "TIER_1K"), time=int((T0 + timedelta(hours=1)).timestamp())
    )
    expected = sorted(
        (e.id for e in await events_of(db, personas.org) if e.kind == "pin_changed"), reverse=True
    )
    await login(client, personas.viewer)
    seen: list[int] = []
    url: str | None = "/o/acme/events?kind=pin_changed&severity=warning"
    pages = 0
    while url:
        page = await client.get(url, headers={"HX-Request": "true"} if pages else {})
        assert page.status_code == 200
        seen += shown(page.text)
        found = re.search(r'href="([^"]+)" data-testid="older"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url:
            assert "kind=pin_changed" in url
            assert "severity=warning" in url
        pages += 1
    assert pages == 3
    assert seen == expected


async def test_event_detail_explains_and_shows_the_source(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    change = name_update("REJECTED", "<script>alert(1)</script>", "Name does not follow the guidelines")
    delivery_id = await deliver(db, world, WABA_A, change)
    await deliver(db, world, WABA_A, security("PIN_CHANGED"))
    rejected, pin = await events_of(db, personas.org)
    await login(client, personas.viewer)

    page = await client.get(f"/o/acme/events/{rejected.id}")
    assert page.status_code == 200
    text = page.text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # in the summary, the facts and the raw change
    assert "Meta rejected the display name" in text
    assert "submit it again" in text  # how to request review again
    assert "Name does not follow the guidelines" in text
    assert "&#34;requested_verified_name&#34;: &#34;&lt;script&gt;" in text  # the raw change, pretty-printed
    assert 'data-testid="duplicates">0' in text
    assert "signature" in text.lower()
    assert f"/o/acme/events/{pin.id}" in text  # related: the same number's other event
    assert delivery_id > 0

    pin_page = await client.get(f"/o/acme/events/{pin.id}")
    assert "treat it as an attempt to take over the number" in pin_page.text


async def test_restriction_detail_says_what_is_blocked_and_until_when(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, restriction("RESTRICTED_BIZ_INITIATED_MESSAGING", 1_765_000_000))
    (event,) = await events_of(db, personas.org)
    await login(client, personas.viewer)
    page = await client.get(f"/o/acme/events/{event.id}")
    assert (
        "can&#39;t start conversations with customers (RESTRICTED_BIZ_INITIATED_MESSAGING) "
        "until 2025-12-06 05:46 UTC" in page.text
    )
    assert "appeal" in page.text


async def test_unknown_kinds_get_the_generic_explanation(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, {"field": "brand_new_field", "value": {"x": 1}})
    (event,) = await events_of(db, personas.org)
    await login(client, personas.viewer)
    page = await client.get(f"/o/acme/events/{event.id}")
    assert page.status_code == 200
    assert "Read the raw change below" in page.text


async def test_another_orgs_event_is_a_404(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org_other, "Bravo's")})
    await deliver(db, world, WABA_A, security("PIN_RESET_REQUEST", requester="bravo-secret"))
    (event,) = await events_of(db, personas.org_other)
    await login(client, personas.admin)
    page = await client.get(f"/o/acme/events/{event.id}")
    assert page.status_code == 404
    assert "bravo-secret" not in page.text
    token = await csrf_token(client, "/o/acme/events")
    ack = await client.post(
        f"/o/acme/events/{event.id}/ack", headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert ack.status_code == 404
    assert (await events_of(db, personas.org_other))[0].acknowledged_at is None


async def test_admin_acknowledges_with_htmx_and_the_overview_counts_what_is_open(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, security("PIN_RESET_REQUEST"))  # critical
    await deliver(db, world, WABA_A, name_update("REJECTED", "Shrub"))  # warning
    await deliver(db, world, WABA_A, name_update("APPROVED", "Shrub"))  # info: nothing to acknowledge
    pin, rejected, approved = await events_of(db, personas.org)
    await login(client, personas.admin)

    overview = await client.get("/o/acme")
    assert "1 critical, 1 warning" in overview.text
    timeline = await client.get("/o/acme/events")
    assert timeline.text.count('data-testid="ack-button"') == 2
    token = await csrf_token(client, "/o/acme/events")
    answer = await client.post(
        f"/o/acme/events/{pin.id}/ack", headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text
    assert f"Acknowledged by {personas.admin.email}" in answer.text

    overview = await client.get("/o/acme")
    assert "0 critical, 1 warning" in overview.text
    acked = (await events_of(db, personas.org))[0]
    assert acked.acknowledged_by_id == personas.admin.id
    assert acked.acknowledged_at is not None
    detail = await client.get(f"/o/acme/events/{pin.id}")
    assert f"Acknowledged by {personas.admin.email}" in detail.text

    info = await client.post(f"/o/acme/events/{approved.id}/ack", headers={"X-CSRF-Token": token})
    assert info.status_code == 400
    no_token = await client.post(f"/o/acme/events/{rejected.id}/ack", headers={"HX-Request": "true"})
    assert no_token.status_code == 403
    plain = await client.post(f"/o/acme/events/{rejected.id}/ack", data={"csrf_token": token})
    assert plain.status_code == 303
    assert plain.headers["location"].endswith(f"/o/acme/events/{rejected.id}")


async def test_viewer_sees_no_acknowledge_button_and_cannot_post_one(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, security("PIN_RESET_REQUEST"))
    (event,) = await events_of(db, personas.org)
    await login(client, personas.viewer)
    for path in ("/o/acme/events", f"/o/acme/events/{event.id}"):
        page = await client.get(path)
        assert 'data-testid="ack-button"' not in page.text
        assert "/ack" not in page.text
        assert 'data-testid="open"' in page.text
    token = await csrf_token(client, "/o/acme/events")
    refused = await client.post(
        f"/o/acme/events/{event.id}/ack", headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert refused.status_code == 403
    assert (await events_of(db, personas.org))[0].acknowledged_at is None


async def test_phone_filter_link_on_detail_page_uses_the_number(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, security("PIN_CHANGED"))
    (event,) = await events_of(db, personas.org)
    await login(client, personas.viewer)
    page = await client.get(f"/o/acme/events/{event.id}")
    assert f"?phone=%2B{PHONE}" in page.text
