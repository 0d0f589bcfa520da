"""``events.csv`` and ``events.json``: the timeline's filtered view, streamed, never another org's rows."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx2
import pytest

from app.db.engine import Database
from app.events import downloads as export
from app.events.downloads import BATCH, csv_lines, json_chunks, named_event_json
from app.events.filters import Filters
from tests.factories import Personas, login
from tests.support.timeline import (
    T0,
    WABA_A,
    WABA_B,
    bulk_events,
    deliver,
    events_of,
    make_world,
    name_update,
    security,
)


async def _two_orgs(db: Database, personas: Personas) -> None:
    world = await make_world(
        db, {WABA_A: (personas.org, "Lucky Shrub"), WABA_B: (personas.org_other, "Bravo")}
    )
    await deliver(db, world, WABA_A, name_update("REJECTED", '=HYPERLINK("http://evil.example")', "-2+3"))
    await deliver(db, world, WABA_A, security("PIN_CHANGED"))
    await deliver(db, world, WABA_B, security("PIN_RESET_REQUEST", requester="bravo-secret"))


async def test_json_export_is_the_cli_shape_oldest_first_and_only_this_org(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await _two_orgs(db, personas)
    await login(client, personas.viewer)
    answer = await client.get("/o/acme/events.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert "attachment" in answer.headers["content-disposition"]
    rows = json.loads(answer.text)
    names = {WABA_A: "Lucky Shrub"}
    assert rows == [named_event_json(e, names) for e in await events_of(db, personas.org)]
    assert [(r["waba_name"], r["waba_id"], r["phone"]) for r in rows] == [
        ("Lucky Shrub", WABA_A, "+15550783881"),
        ("Lucky Shrub", WABA_A, "+15550783881"),
    ]
    assert "bravo-secret" not in answer.text
    assert WABA_B not in answer.text

    filtered = json.loads((await client.get("/o/acme/events.json", params={"field": "security"})).text)
    assert [r["kind"] for r in filtered] == ["pin_changed"]
    empty = await client.get("/o/acme/events.json", params={"q": "nothing like this"})
    assert json.loads(empty.text) == []


async def test_csv_export_has_a_header_and_defuses_formulas(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await _two_orgs(db, personas)
    await login(client, personas.viewer)
    answer = await client.get("/o/acme/events.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == [
        "id",
        "field",
        "kind",
        "severity",
        "waba_name",
        "waba_id",
        "phone",
        "occurred_at",
        "received_at",
        "summary",
    ]
    assert len(rows) == 3  # header + this org's two events
    rejected = rows[1]
    assert rejected[2] == "rejected"
    assert rejected[4:7] == ["Lucky Shrub", WABA_A, "'+15550783881"]  # a leading + would be a formula
    assert rejected[9].startswith("Display name")
    assert "bravo" not in answer.text.lower()


async def test_a_cell_that_starts_like_a_formula_gets_an_apostrophe(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await bulk_events(db, world, personas.org, 2, at=T0, summary="=cmd|' /C calc'!A{n}")
    await login(client, personas.viewer)
    rows = list(csv.reader(io.StringIO((await client.get("/o/acme/events.csv")).text)))
    assert [r[9] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A1"]


async def test_exports_stream_every_row_across_batches_with_equal_times(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await bulk_events(db, world, personas.org, BATCH + 150, at=T0)
    await login(client, personas.viewer)
    ids = [e.id for e in await events_of(db, personas.org)]
    answer = await client.get("/o/acme/events.json")
    assert [r["id"] for r in json.loads(answer.text)] == ids
    # Written as it is read: one chunk per few hundred rows, not one string built whole.
    chunks = [c async for c in json_chunks(db, org_id=personas.org.id, filters=Filters(), names={})]
    assert len(chunks) > len(ids) // 1000
    assert max(len(c) for c in chunks) < len(answer.text) // 2
    csv_rows = list(csv.reader(io.StringIO((await client.get("/o/acme/events.csv")).text)))
    assert [int(r[0]) for r in csv_rows[1:]] == ids
    later = await client.get("/o/acme/events.json", params={"since": (T0 + timedelta(seconds=1)).isoformat()})
    assert json.loads(later.text) == []


async def test_outsider_cannot_export(client: httpx2.AsyncClient, db: Database, personas: Personas) -> None:
    await _two_orgs(db, personas)
    await login(client, personas.outsider)
    for path in ("/o/acme/events.csv", "/o/acme/events.json"):
        answer = await client.get(path)
        assert answer.status_code == 404
        assert "Display name" not in answer.text


async def _peak_bytes(chunks: AsyncIterator[str]) -> tuple[int, int]:
    """(the most memory allocated at once while the download was written, characters written);
    each chunk is dropped once counted, as a server drops it once sent."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        written = 0
        async for chunk in chunks:
            written += len(chunk)
        return tracemalloc.get_traced_memory()[1] - base, written
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("writer", [csv_lines, json_chunks], ids=["csv", "json"])
async def test_export_memory_does_not_grow_with_the_rows(
    db: Database,
    personas: Personas,
    monkeypatch: pytest.MonkeyPatch,
    writer: Callable[..., AsyncIterator[str]],
) -> None:
    monkeypatch.setattr(export, "BATCH", 100)
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await bulk_events(db, world, personas.org, 600, at=T0, summary="early {n} " + "x" * 200)
    await bulk_events(
        db, world, personas.org, 2400, at=T0 + timedelta(seconds=1), summary="late {n} " + "x" * 200
    )
    early = Filters(until=T0 + timedelta(seconds=1))
    await _peak_bytes(writer(db, org_id=personas.org.id, filters=early, names={}))  # caches warmed alike
    small, small_written = await _peak_bytes(writer(db, org_id=personas.org.id, filters=early, names={}))
    large, large_written = await _peak_bytes(writer(db, org_id=personas.org.id, filters=Filters(), names={}))
    assert large_written > 4 * small_written  # five times the rows went out...
    assert large < small * 1.5  # ...through the same memory
