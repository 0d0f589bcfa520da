"""PostgreSQL: two app processes on one database. A signed webhook posted to process A (the only
one with a worker) appears on an event stream opened against process B: the fan-out crosses
processes through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx2
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.events.models import Event
from tests.factories import Personas, login
from tests.support.live import OTHER_WABA, WABA, SSEReader, post_webhook, register, webhook_body
from tests.support.live_server import LiveServer, start_server, wait_until_healthy


@pytest.fixture(scope="module")
def two_servers(
    db_kind: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    if db_kind != "postgresql":
        pytest.skip("cross-process fan-out is PostgreSQL's (SQLite runs one web process)")
    log_dir = tmp_path_factory.mktemp("two-processes")
    servers = (
        start_server(database_url, log_dir, worker=True),
        start_server(database_url, log_dir, worker=False),
    )
    try:
        for server in servers:
            wait_until_healthy(server)
        yield servers
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            # A stream still open must not hold up shutdown.
            assert server.process.wait(15) is not None


async def test_a_webhook_posted_to_one_process_reaches_a_stream_on_the_other(
    two_servers: tuple[LiveServer, LiveServer], db: Database, personas: Personas
) -> None:
    a, b = two_servers
    await register(db, (personas.org, WABA), (personas.org_other, OTHER_WABA))
    async with (
        httpx2.AsyncClient(base_url=a.url, timeout=10) as meta,
        httpx2.AsyncClient(base_url=b.url, timeout=10) as browser,
    ):
        await login(browser, personas.viewer)
        async with browser.stream("GET", "/o/acme/events/stream") as response:
            assert response.status_code == 200
            sse = SSEReader(response)
            try:
                await asyncio.wait_for(sse.live.wait(), 10)
                await post_webhook(meta, webhook_body(OTHER_WABA))  # another org's: never shown here
                await post_webhook(meta, webhook_body(WABA))
                [row] = await sse.rows(1, timeout=10)
                state = await sse.next(5)
            finally:
                await sse.close()
    async with db.read() as session:
        mine = (await session.scalars(select(Event).where(Event.org_id == personas.org.id))).one()
    assert row.id == str(mine.id)
    assert f'id="event-{mine.id}"' in row.data
    assert (state.event, state.id) == ("state", str(mine.id))
    assert all(m.id == str(mine.id) for m in sse.seen)
