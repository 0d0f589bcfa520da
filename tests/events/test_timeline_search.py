"""Text search (``q``) reads bounded ranges of events for a bounded time per page, and links on
to older ones when time runs out."""

from __future__ import annotations

import re
from html import unescape

import httpx2
import pytest

from app.db.engine import Database
from app.events import queries as timeline_queries
from tests.factories import Personas, login
from tests.support.timeline import T0, WABA_A, bulk_events, events_of, make_world

ROW_ID = re.compile(r'<tr id="event-(\d+)"')
OLDER = re.compile(r'href="([^"]+)" data-testid="older"')


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges of 8 events, and no time for a second range: each page reads 8 events."""
    monkeypatch.setattr(timeline_queries, "TEXT_SCAN_BUDGET", 8)
    monkeypatch.setattr(timeline_queries, "TEXT_SEARCH_SECONDS", 0.0)


@pytest.mark.usefixtures("small_budget")
async def test_a_rare_match_is_reached_by_searching_on(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await bulk_events(db, world, personas.org, 1, at=T0, summary="needle {n}")
    await bulk_events(db, world, personas.org, 20, at=T0, summary="hay {n}")  # same time, newer ids
    needle = [e.id for e in await events_of(db, personas.org) if e.summary.startswith("needle")]
    await login(client, personas.viewer)

    page = await client.get("/o/acme/events", params={"q": "NEEDLE"})
    pages = 1
    while not ROW_ID.search(page.text):
        assert page.status_code == 200
        assert "Searched back to" in page.text
        assert "No match among the events searched so far" in page.text
        link = OLDER.search(page.text)
        assert link is not None
        assert "q=NEEDLE" in unescape(link.group(1))
        page = await client.get(unescape(link.group(1)))
        pages += 1
    assert [int(i) for i in ROW_ID.findall(page.text)] == needle
    assert pages == 3  # 8 of the 21 events read per page: the third page reaches the oldest
    assert OLDER.search(page.text) is None  # nothing older left to search


@pytest.mark.usefixtures("small_budget")
async def test_matches_within_the_budget_fill_the_page_without_a_note(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await bulk_events(db, world, personas.org, 6, at=T0, summary="needle {n}")
    await login(client, personas.viewer)
    page = await client.get("/o/acme/events", params={"q": "needle"})
    assert len(ROW_ID.findall(page.text)) == 6
    assert "Searched back to" not in page.text
    assert OLDER.search(page.text) is None


async def test_with_time_left_one_page_searches_range_after_range(
    client: httpx2.AsyncClient, db: Database, personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timeline_queries, "TEXT_SCAN_BUDGET", 4)
    monkeypatch.setattr(timeline_queries, "TEXT_SEARCH_SECONDS", 30.0)
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await bulk_events(db, world, personas.org, 1, at=T0, summary="needle {n}")
    await bulk_events(db, world, personas.org, 40, at=T0, summary="hay {n}")  # ranges of 4, 8, 16, 32
    needle = [e.id for e in await events_of(db, personas.org) if e.summary.startswith("needle")]
    await login(client, personas.viewer)
    page = await client.get("/o/acme/events", params={"q": "needle"})
    assert [int(i) for i in ROW_ID.findall(page.text)] == needle
    assert "Searched back to" not in page.text
    assert OLDER.search(page.text) is None
