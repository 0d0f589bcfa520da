"""Text no database stores (a UTF-16 surrogate without its pair, valid JSON as an escape; NUL) still
becomes an event: U+FFFD stands in for it in what is stored and shown, while the delivery keeps the
bytes Meta sent. A change that fails for good anyway says so on its org's timeline."""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx2

from app.db.engine import Database
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.webhooks.models import ChangeStatus
from tests.factories import Personas, login
from tests.support.payloads import WABA_ID, body, entry, name_change
from tests.support.refusal import MARKER, REASON, events_refused
from tests.support.rows import all_changes, all_deliveries, all_events, register, store_delivery


async def test_a_truncated_emoji_becomes_a_replacement_character_not_a_lost_notification(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    change = name_change("Lucky Shrub \ud83d")  # the second half of the emoji was cut off
    change["value"]["\ud800note"] = "kept"  # in a key, too
    raw = json.dumps(body(entry(WABA_ID, [change]))).encode()
    assert b"\\ud83d" in raw  # valid JSON, valid UTF-8: the surrogate is an escape
    await store_delivery(db, meta_app, raw)

    await Processor(db).run_until_idle()

    [stored] = await all_changes(db)
    assert stored.status == ChangeStatus.PROCESSED
    assert stored.value["requested_verified_name"] == "Lucky Shrub \ufffd"
    assert stored.value["\ufffdnote"] == "kept"
    [event] = await all_events(db)
    assert "Lucky Shrub \ufffd" in event.summary
    [delivery] = await all_deliveries(db)
    assert delivery.body == raw  # the raw delivery keeps what Meta sent


async def test_a_nul_character_is_replaced_too(db: Database, personas: Personas, meta_app: MetaApp) -> None:
    """PostgreSQL refuses NUL in text and in JSON; SQLite would keep it. Both store the same."""
    await register(db, personas.org, meta_app)
    await store_delivery(db, meta_app, body(entry(WABA_ID, [name_change("Lucky\x00Shrub")])))

    await Processor(db).run_until_idle()

    [event] = await all_events(db)
    assert "Lucky\ufffdShrub" in event.summary
    assert (await all_changes(db))[0].status == ChangeStatus.PROCESSED


async def test_a_change_that_fails_for_good_is_shown_on_the_timeline_with_its_raw_payload(
    db: Database, personas: Personas, meta_app: MetaApp, client: httpx2.AsyncClient
) -> None:
    await register(db, personas.org, meta_app)
    await store_delivery(db, meta_app, body(entry(WABA_ID, [name_change(f"Shrub {MARKER}")])))
    told: list[int] = []

    async def hook(event_ids: Sequence[int]) -> None:
        told.extend(event_ids)

    async with events_refused(db):
        await Processor(db, max_attempts=1, hooks=[hook]).run_until_idle()
    [failed] = await all_changes(db)
    assert failed.status == ChangeStatus.FAILED
    [event] = await all_events(db)
    assert told == [event.id]  # live timelines and alerts hear of it like of any new event

    await login(client, personas.viewer)
    timeline = (await client.get("/o/acme/events")).text
    assert "A notification about display name could not be read" in timeline
    assert REASON in timeline
    page = await client.get(f"/o/acme/events/{event.id}")
    assert page.status_code == 200
    assert MARKER in page.text  # the raw change, as Meta sent it
    assert "could not be read" in page.text
