"""A separate worker process hears about committed deliveries at once (PostgreSQL NOTIFY)."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest

from app.db.engine import Database
from app.webhooks.listener import IntakeListener
from tests.factories import create_meta_app
from tests.support.meta_app import APP_ID, sign


async def test_a_committed_delivery_wakes_a_listening_worker(
    db: Database, client: httpx2.AsyncClient, db_kind: str
) -> None:
    if db_kind != "postgresql":
        pytest.skip("SQLite runs the worker in the receiver's process; it shares one wake-up event")
    await create_meta_app(db)
    wakeup = asyncio.Event()
    listener = IntakeListener.for_database(db, wakeup)
    assert listener is not None
    listener.start()
    try:
        await asyncio.wait_for(listener.listening.wait(), 10)
        wakeup.clear()  # the listener wakes once on connect, for what was committed before
        await asyncio.sleep(0.2)
        assert not wakeup.is_set()

        body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
        response = await client.post(
            f"/webhooks/whatsapp/{APP_ID}",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)},
        )
        assert response.status_code == 200
        await asyncio.wait_for(wakeup.wait(), 5)
    finally:
        await listener.close()


async def test_there_is_no_listener_on_sqlite(db: Database, db_kind: str) -> None:
    if db_kind != "sqlite":
        pytest.skip("PostgreSQL has a listener")
    assert IntakeListener.for_database(db, asyncio.Event()) is None
