"""The org's timeline page: newest first, keyset pages, filters, escaping, tenant isolation."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx2

from app.db.engine import Database
from app.events.parsed import Severity
from tests.factories import Personas, login
from tests.support.events import T0, E, store_events

ROW_RE = re.compile(r'data-testid="event-row"')


def summaries(html: str) -> list[str]:
    return re.findall(r'<tr id="event-\d+"[^>]*>.*?<td>([^<]*)</td>\s*</tr>', html, re.S)


async def test_member_sees_the_orgs_events_newest_first(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await store_events(
        db,
        personas.org,
        [
            E("middle", T0 + timedelta(minutes=5)),
            E("oldest", T0),
            E("newest", T0 + timedelta(minutes=9)),
            E("bravo's secret", T0 + timedelta(minutes=7), org=personas.org_other),
        ],
    )
    await login(client, personas.viewer)
    page = await client.get("/o/acme/events")
    assert page.status_code == 200
    assert summaries(page.text) == ["newest", "middle", "oldest"]
    assert "bravo" not in page.text.lower().replace("bravo retail", "")
    assert 'datetime="2026-11-20T09:09:00Z"' in page.text
    assert 'data-testid="event-phone" title="+15550783881">+1 555-078-3881</span>' in page.text
    assert 'data-testid="event-waba">WABA <small class="muted">102290129340398</small>' in page.text
    assert '/o/acme/events" aria-current="page">Events</a>' in page.text  # the org nav links here


async def test_summary_markup_is_escaped(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await store_events(db, personas.org, [E('<script>alert("x")</script>', field="<b>field</b>")])
    await login(client, personas.viewer)
    page = await client.get("/o/acme/events")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "<b>field</b>" not in page.text


async def test_outsider_gets_404(client: httpx2.AsyncClient, db: Database, personas: Personas) -> None:
    await store_events(db, personas.org, [E("acme only")])
    await login(client, personas.outsider)
    page = await client.get("/o/acme/events")
    assert page.status_code == 404
    assert "acme only" not in page.text


async def test_signed_out_visitor_is_sent_to_sign_in(client: httpx2.AsyncClient, personas: Personas) -> None:
    page = await client.get("/o/acme/events")
    assert page.status_code in (302, 303)
    assert "/login" in page.headers["location"]


async def test_older_link_pages_through_equal_times_without_gaps_or_repeats(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    # 60 events, ten at each instant, so the cursor must break ties by id.
    items = [E(f"event {i:02d}", T0 + timedelta(seconds=i // 10)) for i in range(60)]
    await store_events(db, personas.org, items)
    await login(client, personas.viewer)
    first = await client.get("/o/acme/events")
    first_rows = summaries(first.text)
    assert len(first_rows) == 50
    older = re.search(r'href="([^"]+)" data-testid="older"', first.text)
    assert older is not None
    href = older.group(1).replace("&amp;", "&")
    second = await client.get(href)
    second_rows = summaries(second.text)
    assert len(second_rows) == 10
    assert 'data-testid="older"' not in second.text
    expected = [f"event {i:02d}" for i in reversed(range(60))]
    assert first_rows + second_rows == expected


async def test_htmx_older_request_gets_only_the_rows(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await store_events(db, personas.org, [E(f"e{i}", T0 + timedelta(seconds=i)) for i in range(52)])
    await login(client, personas.viewer)
    first = await client.get("/o/acme/events")
    href = re.search(r'href="([^"]+)" data-testid="older"', first.text)
    assert href is not None
    fragment = await client.get(href.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert summaries(fragment.text) == ["e1", "e0"]


async def test_waba_and_minimum_severity_filters(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await store_events(
        db,
        personas.org,
        [
            E("info on A", T0, waba_id="111111111111111"),
            E(
                "warning on A",
                T0 + timedelta(seconds=1),
                waba_id="111111111111111",
                severity=Severity.WARNING,
            ),
            E(
                "critical on B",
                T0 + timedelta(seconds=2),
                waba_id="222222222222222",
                severity=Severity.CRITICAL,
            ),
        ],
    )
    await login(client, personas.viewer)
    by_waba = await client.get("/o/acme/events", params={"waba": "111111111111111"})
    assert summaries(by_waba.text) == ["warning on A", "info on A"]
    at_least_warning = await client.get("/o/acme/events", params={"severity": "warning"})
    assert summaries(at_least_warning.text) == ["critical on B", "warning on A"]
    both = await client.get("/o/acme/events", params={"severity": "critical", "waba": "111111111111111"})
    assert summaries(both.text) == []
    assert 'data-testid="no-events"' in both.text


async def test_unknown_severity_is_a_400_that_says_why(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.viewer)
    page = await client.get("/o/acme/events", params={"severity": "loud"})
    assert page.status_code == 400
    assert "info, warning or critical" in page.text
    bad_cursor = await client.get("/o/acme/events", params={"before": "yesterday"})
    assert bad_cursor.status_code == 400
