"""GET /o/{org}/events/stream against a real server: live rows, state refreshes, Last-Event-ID
replay, filters, tenant isolation, no leaked subscribers, and an end on shutdown."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from sqlalchemy import func, select, text

from app.db.engine import Database
from app.events.models import Event
from app.live.hub import hub_for
from app.main import Dispatcher, create_app
from app.processing.processor import Processor
from app.settings import Settings
from app.tenancy.models import User
from app.wabas.models import PhoneNumber, Waba
from app.worker import after_commit_hooks
from tests.factories import Personas, login
from tests.support.live import OTHER_WABA, WABA, SSEReader, post_webhook, register, served, webhook_body
from tests.support.meta_app import APP_ID, VERIFY_TOKEN

ROW_ID = re.compile(r'<tr id="event-(\d+)"')


@pytest.fixture
async def base_url(app: Dispatcher, db: Database) -> AsyncIterator[str]:
    async with served(app) as url:
        yield url


@asynccontextmanager
async def signed_in(base_url: str, user: User) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=base_url, timeout=10) as client:
        await login(client, user)
        yield client


@asynccontextmanager
async def stream(
    client: httpx2.AsyncClient, db: Database, org_id: int, path: str = "/o/acme/events/stream", **kw: object
) -> AsyncIterator[SSEReader]:
    hub = hub_for(db)
    before = hub.subscriber_count(org_id)
    async with client.stream("GET", path, **kw) as response:  # type: ignore[arg-type]
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        await until(lambda: hub.subscriber_count(org_id) > before)
        reader = SSEReader(response)
        await asyncio.wait_for(reader.live.wait(), 5)
        try:
            yield reader
        finally:
            await reader.close()


def stream_url_of(page: str) -> str:
    """The URL the page's one live stream connects to, as the browser reads the attribute."""
    [url] = re.findall(r'hx-sse:connect="([^"]+)"', page)
    return html.unescape(url)


async def until(check: object, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def deliver(client: httpx2.AsyncClient, db: Database, *waba_ids: str) -> list[int]:
    """Signed webhooks through the receiver, then processing with the real after-commit hooks;
    the ids of the events made, in order."""
    async with db.read() as session:
        high = await session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0
    for waba_id in waba_ids:
        await post_webhook(client, webhook_body(waba_id))
        await Processor(db, hooks=after_commit_hooks(db)).run_until_idle()
    async with db.read() as session:
        return list(await session.scalars(select(Event.id).where(Event.id > high).order_by(Event.id)))


async def test_a_processed_event_arrives_as_its_timeline_row_then_a_state_message(
    base_url: str, db: Database, personas: Personas
) -> None:
    await register(db, (personas.org, WABA))
    async with signed_in(base_url, personas.viewer) as client, stream(client, db, personas.org.id) as sse:
        [event_id] = await deliver(client, db, WABA)
        row = await sse.next()
        assert row.event == "message"
        assert row.id == str(event_id)
        assert ROW_ID.findall(row.data) == [str(event_id)]
        assert 'data-testid="event-row"' in row.data
        state = await sse.next()
        assert (state.event, state.id) == ("state", str(event_id))


async def test_outsider_gets_404(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.outsider)
    response = await client.get("/o/acme/events/stream")
    assert response.status_code == 404


async def test_malformed_filter_is_a_400_in_words(client: httpx2.AsyncClient, personas: Personas) -> None:
    await login(client, personas.viewer)
    response = await client.get("/o/acme/events/stream?severity=loud")
    assert response.status_code == 400
    assert "must be info, warning or critical" in response.text


async def test_another_orgs_events_never_reach_the_stream(
    base_url: str, db: Database, personas: Personas
) -> None:
    await register(db, (personas.org, WABA), (personas.org_other, OTHER_WABA))
    async with signed_in(base_url, personas.viewer) as client, stream(client, db, personas.org.id) as sse:
        [theirs] = await deliver(client, db, OTHER_WABA)
        [mine] = await deliver(client, db, WABA)
        first = await sse.next()
        assert first.id == str(mine)
        assert await sse.silent_for(0.3)
        assert str(theirs) not in [m.id for m in sse.seen]
        assert str(theirs) not in [n for m in sse.seen for n in ROW_ID.findall(m.data)]


async def test_the_pages_filters_apply_to_the_stream(base_url: str, db: Database, personas: Personas) -> None:
    await register(db, (personas.org, WABA), (personas.org, OTHER_WABA))
    async with (
        signed_in(base_url, personas.viewer) as client,
        stream(client, db, personas.org.id, f"/o/acme/events/stream?waba={WABA}") as sse,
    ):
        [other] = await deliver(client, db, OTHER_WABA)
        # The other WABA's event is not a row here, but the state cards still hear of it.
        state = await sse.next()
        assert (state.event, state.id) == ("state", str(other))
        [wanted] = await deliver(client, db, WABA)
        [row] = await sse.rows(1)
        assert row.id == str(wanted)


@pytest.mark.parametrize("how", ["header", "query"])
async def test_reconnect_with_last_event_id_replays_exactly_the_missed_events(
    how: str, base_url: str, db: Database, personas: Personas
) -> None:
    await register(db, (personas.org, WABA))
    async with signed_in(base_url, personas.viewer) as client:
        ids = await deliver(client, db, WABA, WABA, WABA, WABA, WABA)
        assert len(ids) == 5
        seen = ids[1]
        if how == "header":
            opened = stream(client, db, personas.org.id, headers={"Last-Event-ID": str(seen)})
        else:
            opened = stream(client, db, personas.org.id, f"/o/acme/events/stream?last_event_id={seen}")
        async with opened as sse:
            replayed = await sse.rows(3)
            assert [m.id for m in replayed] == [str(i) for i in ids[2:]]
            [live] = await deliver(client, db, WABA)
            [row] = await sse.rows(1)
            assert row.id == str(live)
            assert await sse.silent_for(0.3)
        ids_sent = [m.id for m in sse.seen if m.event == "message"]
        assert len(ids_sent) == len(set(ids_sent)) == 4


async def test_a_fresh_stream_starts_from_now_and_ignores_a_junk_last_event_id(
    base_url: str, db: Database, personas: Personas
) -> None:
    await register(db, (personas.org, WABA))
    async with signed_in(base_url, personas.viewer) as client:
        await deliver(client, db, WABA, WABA)
        async with stream(client, db, personas.org.id, headers={"Last-Event-ID": "1; DROP"}) as sse:
            assert await sse.silent_for(0.3)
            [new] = await deliver(client, db, WABA)
            [row] = await sse.rows(1)
            assert row.id == str(new)


async def test_subscriber_count_returns_to_zero_after_the_client_disconnects(
    base_url: str, db: Database, personas: Personas
) -> None:
    hub = hub_for(db)
    async with signed_in(base_url, personas.viewer) as client:
        async with stream(client, db, personas.org.id), stream(client, db, personas.org.id):
            assert hub.subscriber_count(personas.org.id) == 2
        await until(lambda: hub.subscriber_count() == 0)


async def test_open_streams_end_when_the_app_shuts_down(
    settings: Settings, db: Database, personas: Personas
) -> None:
    other = create_app(settings)
    async with other.web.router.lifespan_context(other.web), served(other) as url:
        other_db: Database = other.state.services.db
        async with (
            signed_in(url, personas.viewer) as client,
            stream(client, other_db, personas.org.id) as sse,
        ):
            reading = asyncio.create_task(sse.next(10))
            await asyncio.sleep(0.05)
            await hub_for(other_db).close()  # what the lifespan's shutdown does first
            with pytest.raises(EOFError):
                await asyncio.wait_for(reading, 3)
        await until(lambda: hub_for(other_db).subscriber_count() == 0)


async def test_the_timeline_listens_with_its_filters_and_the_overview_refreshes_on_state(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.viewer)
    page = await client.get(f"/o/acme/events?waba={WABA}&severity=warning")
    assert page.status_code == 200
    connect = stream_url_of(page.text)
    assert connect.startswith("/o/acme/events/stream?")
    assert f"waba={WABA}" in connect
    assert "severity=warning" in connect
    assert 'hx-target="#event-rows" hx-swap="afterbegin"' in page.text

    home = await client.get("/o/acme")
    assert 'hx-sse:connect="/o/acme/events/stream?last_event_id=0"' in home.text
    assert 'hx-trigger="state from:body"' in home.text


async def test_after_the_listen_connection_drops_the_stream_catches_up(
    base_url: str, db: Database, db_kind: str, personas: Personas
) -> None:
    """PostgreSQL: notifications sent while the LISTEN connection is down are lost; the hub
    reconnects and tells every stream to re-read, so the event still arrives (long before the
    periodic re-read)."""
    if db_kind != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    hub = hub_for(db)
    await register(db, (personas.org, WABA))
    async with signed_in(base_url, personas.viewer) as client, stream(client, db, personas.org.id) as sse:
        connects = hub.connects  # type: ignore[attr-defined]
        await post_webhook(client, webhook_body(WABA))
        await Processor(db).run_until_idle()  # no after-commit hook: nobody is told
        async with db.transaction() as session:
            killed = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            )
        assert killed == 1
        [row] = await sse.rows(1, timeout=5)
        async with db.read() as session:
            assert row.id == str(await session.scalar(select(func.max(Event.id))))
        assert hub.connects == connects + 1  # type: ignore[attr-defined]


async def test_an_event_committed_between_the_page_and_its_stream_is_not_lost(
    base_url: str, db: Database, personas: Personas
) -> None:
    await register(db, (personas.org, WABA))
    async with signed_in(base_url, personas.viewer) as client:
        [shown] = await deliver(client, db, WABA)
        page = await client.get("/o/acme/events")
        connect = stream_url_of(page.text)
        assert f"last_event_id={shown}" in connect
        # Lands after the page was read and before the browser opens the page's stream.
        [landed] = await deliver(client, db, WABA)
        async with stream(client, db, personas.org.id, connect) as sse:
            [row] = await sse.rows(1)
            assert row.id == str(landed)
            assert await sse.silent_for(0.3)


async def test_the_overview_refreshes_for_a_change_that_landed_before_its_stream_opened(
    base_url: str, db: Database, personas: Personas
) -> None:
    await register(db, (personas.org, WABA))
    async with signed_in(base_url, personas.viewer) as client:
        [shown] = await deliver(client, db, WABA)
        page = await client.get("/o/acme")
        connect = stream_url_of(page.text)
        assert connect.endswith(f"?last_event_id={shown}")
        [landed] = await deliver(client, db, WABA)
        async with stream(client, db, personas.org.id, connect) as sse:
            row = await sse.next()
            assert row.id == str(landed)
            state = await sse.next()
            assert (state.event, state.id) == ("state", str(landed))


async def test_a_stream_with_nothing_to_replay_sends_no_state_message(
    base_url: str, db: Database, personas: Personas
) -> None:
    await register(db, (personas.org, WABA))
    async with signed_in(base_url, personas.viewer) as client:
        [shown] = await deliver(client, db, WABA)
        async with stream(client, db, personas.org.id, f"/o/acme/events/stream?last_event_id={shown}") as sse:
            with pytest.raises(TimeoutError):
                await sse.next(0.3)


async def test_the_waba_page_listens_to_its_own_waba_and_refreshes_its_state(
    base_url: str, db: Database, personas: Personas
) -> None:
    await register(db, (personas.org, WABA), (personas.org, OTHER_WABA))
    async with db.read() as session:
        waba_pk = await session.scalar(select(Waba.id).where(Waba.waba_id == WABA))
    async with signed_in(base_url, personas.viewer) as client:
        [shown] = await deliver(client, db, WABA)
        page = await client.get(f"/o/acme/wabas/{waba_pk}")
        assert page.status_code == 200
        connect = stream_url_of(page.text)
        assert f"waba={WABA}" in connect
        assert f"last_event_id={shown}" in connect
        assert 'hx-select="#waba-state"' in page.text
        assert 'id="waba-state"' in page.text
        [landed] = await deliver(client, db, WABA)  # before the stream opens: replayed
        async with stream(client, db, personas.org.id, connect) as sse:
            [row] = await sse.rows(1)
            assert row.id == str(landed)
            await deliver(client, db, OTHER_WABA)  # the org's other WABA: not this page's
            [mine] = await deliver(client, db, WABA)
            [row] = await sse.rows(1)
            assert row.id == str(mine)


async def test_the_phone_page_listens_to_its_own_number(
    base_url: str, db: Database, personas: Personas
) -> None:
    await register(db, (personas.org, WABA))
    async with signed_in(base_url, personas.viewer) as client:
        [first] = await deliver(client, db, WABA)
        async with db.read() as session:
            event = await session.get_one(Event, first)
            phone = (
                await session.scalars(select(PhoneNumber).where(PhoneNumber.digits == event.phone))
            ).one()
        page = await client.get(f"/o/acme/wabas/{phone.waba_pk}/phones/{phone.id}")
        assert page.status_code == 200
        connect = stream_url_of(page.text)
        assert f"phone=%2B{event.phone}" in connect
        assert f"last_event_id={first}" in connect
        assert 'hx-select="#phone-state"' in page.text


async def test_metas_handshake_sends_a_state_message_to_the_orgs_that_see_the_app(
    base_url: str, db: Database, personas: Personas
) -> None:
    """The set-up checklist turns green live: the app's WABAs' orgs are told, with no event."""
    await register(db, (personas.org, WABA))
    async with signed_in(base_url, personas.admin) as client, stream(client, db, personas.org.id) as reader:
        shake = await client.get(
            f"/webhooks/whatsapp/{APP_ID}",
            params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "77"},
        )
        assert shake.text == "77"
        message = await reader.next()
        assert message.event == "state"
        refused = await client.get(
            f"/webhooks/whatsapp/{APP_ID}",
            params={"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "78"},
        )
        assert refused.status_code == 403
        with pytest.raises(TimeoutError):
            await reader.next(0.5)
