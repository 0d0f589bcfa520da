"""Simulated Meta traffic through the real receiver and processing, read back on the timeline page
and by ``wabawatch events --json``."""

from __future__ import annotations

import asyncio
import json
import random
import re

import httpx2
import pytest
from sqlalchemy import select

from app.cli import build_parser
from app.cli.events import cmd_events
from app.db.engine import Database
from app.events.models import Event
from app.main import Dispatcher
from app.processing.processor import Processor
from app.settings import Settings
from app.simulator import send as simulate
from app.simulator.payloads import FIELDS, PayloadFactory, SimWaba, meta_json_bytes
from app.wabas import service as wabas_service
from tests.factories import Personas, create_meta_app, login
from tests.support.meta_app import APP_ID, SECRET

WABA = "102290129340398"


async def register(db: Database, personas: Personas) -> None:
    meta_app = await create_meta_app(db)
    async with db.transaction() as session:
        await wabas_service.register_waba(
            session, org=personas.org, app=meta_app, waba_id=WABA, name="Lucky Shrub"
        )


async def send(app: Dispatcher, source: simulate.Source, count: int) -> None:
    outcome = await simulate.run(
        url="http://testserver",
        app_id=APP_ID,
        secret=SECRET,
        source=source,
        count=count,
        rate=0,
        transport=httpx2.ASGITransport(app=app),
    )
    assert outcome.accepted == count, outcome.summary()


async def test_every_simulated_field_shows_on_the_timeline_and_in_the_export(
    app: Dispatcher,
    client: httpx2.AsyncClient,
    db: Database,
    settings: Settings,
    personas: Personas,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await register(db, personas)
    for field in FIELDS:
        await send(app, simulate.Source(field_name=field, waba_ids=[WABA], rng=random.Random(field)), 1)
    await Processor(db).run_until_idle()
    async with db.read() as session:
        events = list(await session.scalars(select(Event).where(Event.org_id == personas.org.id)))
    # partner_solutions arrive on a business portfolio, not a WABA: unrouted, so not on this timeline.
    assert {e.field for e in events} == set(FIELDS) - {"partner_solutions"}

    await login(client, personas.viewer)
    page = await client.get("/o/acme/events", params={"all": "1"})  # message fields too
    assert page.status_code == 200
    shown = [int(i) for i in re.findall(r'<tr id="event-(\d+)"', page.text)]
    newest_first = sorted(events, key=lambda e: (e.occurred_at, e.id), reverse=True)
    assert shown == [e.id for e in newest_first][:50]

    args = build_parser().parse_args(["events", "--org", "acme", "--json"])
    assert await asyncio.to_thread(cmd_events, args, settings) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [e.id for e in reversed(newest_first)]
    assert all(r["waba_id"] == WABA for r in rows)
    assert {r["phone"] for r in rows if r["field"] == "security"} <= {
        "+" + p.digits for p in SimWaba.for_id(WABA).phones
    }


class OneBody(simulate.Source):
    def __init__(self, body: bytes) -> None:
        super().__init__(file_bytes=body)


async def test_markup_in_a_payload_is_escaped_on_the_timeline(
    app: Dispatcher, client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await register(db, personas)
    factory = PayloadFactory(random.Random(9))
    change = factory.change("phone_number_name_update", SimWaba.for_id(WABA))
    change.value.update(decision="REJECTED", requested_verified_name="<script>alert('pwned')</script>")
    await send(app, OneBody(meta_json_bytes(factory.envelope([change]))), 1)
    await Processor(db).run_until_idle()
    await login(client, personas.viewer)
    page = await client.get("/o/acme/events")
    assert page.status_code == 200
    assert 'data-testid="event-row"' in page.text
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page.text
