"""``wabawatch simulate``: its notifications are accepted by the real receiver and parse to typed events."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2
import pytest
import uvicorn
from sqlalchemy import select

from app.cli import main
from app.db.engine import Database
from app.demo.seed import seed_demo
from app.demo.traffic import DemoTraffic
from app.events.parsing import parse_change, routing_waba_id
from app.graph.fake.demo import DEMO_APP_ID, DEMO_APP_SECRET, DEMO_WABAS
from app.main import Dispatcher, create_app
from app.meta.models import MetaApp
from app.settings import Settings
from app.simulator import send as simulate
from app.simulator.payloads import FIELDS, Change, PayloadFactory, SimWaba, meta_json_bytes, signature
from app.tenancy import queries as tenancy_queries
from app.wabas import queries as wabas_queries
from app.webhooks.models import WebhookDelivery
from tests.support.meta_app import APP_ID, SECRET
from tests.support.payloads import META_FIXTURES
from tests.support.ports import free_port

WABA = "102290129340398"
FIXTURES = META_FIXTURES
# Business portfolio ids, not WABAs: these changes stay unrouted until someone claims the portfolio.
UNROUTED_FIELDS = {"partner_solutions"}


@pytest.fixture(scope="module")
def live_url(settings: Settings) -> Iterator[str]:
    """The whole app served by uvicorn on loopback, in a thread (what the CLI talks to)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


async def stored_bodies(db: Database) -> list[bytes]:
    async with db.read() as session:
        rows = await session.scalars(select(WebhookDelivery.body).order_by(WebhookDelivery.id))
        return [row or b"" for row in rows]


async def test_every_field_is_accepted_and_parses_to_a_typed_event(
    app: Dispatcher, db: Database, meta_app: MetaApp
) -> None:
    transport = httpx2.ASGITransport(app=app)
    for field in FIELDS:
        source = simulate.Source(field_name=field, waba_ids=[WABA], rng=random.Random(field))
        outcome = await simulate.run(
            url="http://testserver",
            app_id=APP_ID,
            secret=SECRET,
            source=source,
            count=3,
            rate=0,
            transport=transport,
        )
        assert outcome.accepted == 3, (field, outcome.summary())
    bodies = await stored_bodies(db)
    assert len(bodies) == 3 * len(FIELDS)
    seen: set[str] = set()
    for body in bodies:
        payload = json.loads(body)
        for entry in payload["entry"]:
            when = datetime.fromtimestamp(entry["time"], UTC) if "time" in entry else None
            for change in entry["changes"]:
                seen.add(change["field"])
                events = parse_change(
                    field=change["field"],
                    value=change["value"],
                    entry_id=entry["id"],
                    entry_time=when,
                    received_at=datetime.now(UTC),
                )
                for event in events:
                    assert event.kind not in ("unknown", "malformed"), (change, event)
                    assert "raw" not in event.details, (change, event)
                    assert "keys" not in event.details, (change, event)
                    if change["field"] not in UNROUTED_FIELDS:
                        assert event.waba_id == WABA, (change, event)
    assert seen == set(FIELDS)


async def test_the_mix_batches_entries_and_changes_sometimes() -> None:
    factory = PayloadFactory(random.Random(42))
    wabas = [SimWaba.for_id(WABA), SimWaba.for_id("224466880011223")]
    payloads = [factory.notification(wabas) for _ in range(300)]
    changes = [len(e["changes"]) for p in payloads for e in p["entry"]]
    assert max(len(p["entry"]) for p in payloads) > 1
    assert max(changes) > 1
    assert sum(1 for p in payloads if len(p["entry"]) == 1 and len(p["entry"][0]["changes"]) == 1) > 150
    fields = {c["field"] for p in payloads for e in p["entry"] for c in e["changes"]}
    assert {"messages", "account_update", "security", "phone_number_quality_update"} <= fields
    source = simulate.Source(waba_ids=[WABA], rng=random.Random(5))
    bodies = {source.next().data for _ in range(300)}
    assert len(bodies) == 300  # never the same bytes twice in a run: a receiver counts those once


async def test_signature_is_over_the_escaped_non_ascii_bytes(
    app: Dispatcher, db: Database, meta_app: MetaApp
) -> None:
    payload = PayloadFactory(random.Random(1)).envelope(
        [
            simulate_change("phone_number_name_update", requested_verified_name="Café Ñandú 東京"),
        ]
    )
    body = meta_json_bytes(payload)
    assert b"Caf\\u00e9 \\u00d1and\\u00fa \\u6771\\u4eac" in body
    assert body.isascii()
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature(SECRET, body) == expected
    # Re-serialising the parsed JSON the usual way gives other bytes, so a receiver must use these.
    assert json.dumps(json.loads(body), ensure_ascii=False).encode() != body
    outcome = await simulate.run(
        url="http://testserver",
        app_id=APP_ID,
        secret=SECRET,
        source=FixedSource(body),
        transport=httpx2.ASGITransport(app=app),
        rate=0,
    )
    assert outcome.accepted == 1
    assert await stored_bodies(db) == [body]


def simulate_change(field: str, **value: str) -> Change:
    change = PayloadFactory(random.Random(3)).change(field, SimWaba.for_id(WABA))
    change.value.update(value)
    return change


class FixedSource(simulate.Source):
    def __init__(self, body: bytes) -> None:
        super().__init__(file_bytes=body)


def run_cli(argv: list[str], secret: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    return main(argv)


async def test_cli_sends_count_notifications_and_prints_a_line_each(
    live_url: str,
    db: Database,
    meta_app: MetaApp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--url", live_url, "--app-id", APP_ID, "--waba", WABA, "--count", "4", "--rate", "50"]
    status = await asyncio.to_thread(run_cli, argv, SECRET, monkeypatch)
    out = capsys.readouterr().out
    assert status == 0, out
    lines = out.splitlines()
    # At a rate the POSTs overlap, as Meta's do: each prints when it is answered, in any order.
    assert sorted(line.split()[:2] for line in lines[:4]) == [[f"#{n}", "200"] for n in range(1, 5)]
    assert "ms" in lines[0]
    assert "4 accepted" in out
    assert "latency median" in out
    assert len(await stored_bodies(db)) == 4


async def test_cli_sends_one_field(
    live_url: str,
    db: Database,
    meta_app: MetaApp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "security", "--url", live_url, "--app-id", APP_ID, "--count", "2", "--rate", "0"]
    assert await asyncio.to_thread(run_cli, argv, SECRET, monkeypatch) == 0
    bodies = await stored_bodies(db)
    fields = {c["field"] for b in bodies for e in json.loads(b)["entry"] for c in e["changes"]}
    assert fields == {"security"}


async def test_cli_file_is_sent_byte_for_byte(
    live_url: str,
    db: Database,
    meta_app: MetaApp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = FIXTURES / "account_alerts__increased_capabilities_eligibility_deferred.json"
    argv = ["simulate", "--url", live_url, "--app-id", APP_ID, "--file", str(path)]
    assert await asyncio.to_thread(run_cli, argv, SECRET, monkeypatch) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("#1 200 ")
    assert "file: account_alerts" in first
    assert await stored_bodies(db) == [path.read_bytes()]


async def test_cli_wrong_secret_exits_non_zero_and_says_why(
    live_url: str,
    db: Database,
    meta_app: MetaApp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--url", live_url, "--app-id", APP_ID, "--count", "2", "--rate", "0"]
    status = await asyncio.to_thread(run_cli, argv, "not-the-secret", monkeypatch)
    captured = capsys.readouterr()
    assert status == 1
    assert "#1 401" in captured.out
    assert "signature refused: is the app secret right?" in captured.err
    assert await stored_bodies(db) == []


async def test_cli_unknown_app_id_says_so(
    live_url: str,
    db: Database,
    meta_app: MetaApp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--url", live_url, "--app-id", "999999999999999"]
    assert await asyncio.to_thread(run_cli, argv, SECRET, monkeypatch) == 1
    assert "is the app id registered" in capsys.readouterr().err


async def test_cli_unreachable_server_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--url", f"http://127.0.0.1:{free_port()}", "--app-id", APP_ID, "--count", "3"]
    assert await asyncio.to_thread(run_cli, argv, SECRET, monkeypatch) == 1
    captured = capsys.readouterr()
    assert "could not connect" in captured.err
    assert captured.out.count("#") == 1  # stops at the first failure to connect


def test_webhook_url_is_built_from_a_base_url_or_kept() -> None:
    assert simulate.webhook_url("http://h:8000/", "42") == "http://h:8000/webhooks/whatsapp/42"
    assert simulate.webhook_url("https://h/webhooks/whatsapp/7", "42") == "https://h/webhooks/whatsapp/7"


async def test_demo_seed_registers_the_platform_app_and_named_wabas_once(
    db: Database, settings: Settings
) -> None:
    await seed_demo(settings)
    await seed_demo(settings)  # `wabawatch demo` runs it on every start
    async with db.read() as session:
        apps = list(await session.scalars(select(MetaApp)))
        org = await tenancy_queries.org_by_slug(session, "demo")
        assert org is not None
        wabas = await wabas_queries.wabas_of_org(session, org.id)
    assert [(a.app_id, a.org_id, a.app_secret) for a in apps] == [(DEMO_APP_ID, None, DEMO_APP_SECRET)]
    assert sorted((w.waba_id, w.name) for w in wabas) == sorted(DEMO_WABAS)


async def test_demo_traffic_posts_signed_notifications_through_the_real_receiver(
    live_url: str, db: Database, settings: Settings
) -> None:
    await seed_demo(settings)
    traffic = DemoTraffic(live_url, interval=0.02)
    outcome = await traffic.send(count=3)
    assert outcome.accepted == 3, outcome.summary()
    bodies = await stored_bodies(db)
    assert len(bodies) == 3
    demo_ids = {waba_id for waba_id, _ in DEMO_WABAS}
    for body in bodies:
        for entry in json.loads(body)["entry"]:
            for change in entry["changes"]:
                routed = routing_waba_id(change["field"], change["value"], entry["id"])
                assert routed in demo_ids or change["field"] in UNROUTED_FIELDS


async def test_rate_paces_the_posts(app: Dispatcher, db: Database, meta_app: MetaApp) -> None:
    source = simulate.Source(field_name="security", waba_ids=[WABA])
    started = time.monotonic()
    outcome = await simulate.run(
        url="http://testserver",
        app_id=APP_ID,
        secret=SECRET,
        source=source,
        count=4,
        rate=20,
        transport=httpx2.ASGITransport(app=app),
    )
    elapsed = time.monotonic() - started
    assert outcome.accepted == 4
    assert elapsed >= 3 / 20  # the 4th POST starts 150 ms after the 1st
    assert len(await stored_bodies(db)) == 4


async def test_a_server_that_never_answers_is_a_timeout_not_a_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)  # takes the request, never answers
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(simulate, "TIMEOUT", 0.2)
    try:
        outcome = await simulate.run(
            url=f"http://127.0.0.1:{port}",
            app_id=APP_ID,
            secret=SECRET,
            source=simulate.Source(),
            count=2,
            rate=0,
        )
    finally:
        server.close()
    assert outcome.sent == 2
    assert outcome.refused == {"no answer within 0.2 s; Meta would retry": 2}
    assert not outcome.ok
