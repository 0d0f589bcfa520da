"""The fake's demo world, and the fake served on its own as a process (how ``wabawatch demo`` can use it)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx2

from app.graph.client import GraphClient
from app.graph.fake.demo import (
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    DEMO_TOKEN,
    DEMO_WABAS,
    PARTNER_APP,
    seed_demo_world,
)
from tests.support.fake_graph import SSL, VERSION, FakeGraph
from tests.support.ports import free_port


async def test_demo_world_has_every_demo_waba_with_numbers(fake_graph: FakeGraph, graph: GraphClient) -> None:
    seed_demo_world(fake_graph.state, app_id=DEMO_APP_ID, app_secret=DEMO_APP_SECRET, wabas=DEMO_WABAS)
    for waba_id, name in DEMO_WABAS:
        assert (await graph.get_waba(waba_id, DEMO_TOKEN)).name == name
        phones = await graph.list_phone_numbers(waba_id, DEMO_TOKEN)
        assert {p.quality_rating for p in phones} == {"GREEN", "YELLOW"}
    first = DEMO_WABAS[0][0]
    assert [a.app_id for a in await graph.list_subscribed_apps(first, DEMO_TOKEN)] == [PARTNER_APP[0]]
    info = await graph.debug_token(DEMO_TOKEN, app_id=DEMO_APP_ID, app_secret=DEMO_APP_SECRET)
    assert set(info.waba_ids) == {w for w, _ in DEMO_WABAS}


async def test_fake_runs_as_its_own_process() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.graph.fake", "--port", str(port), "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        async with httpx2.AsyncClient(verify=SSL) as probe:
            deadline = time.monotonic() + 15
            while True:
                try:
                    await probe.get(f"http://127.0.0.1:{port}/_fake/calls")
                    break
                except httpx2.TransportError:
                    assert time.monotonic() < deadline, "the fake did not start"
                    await asyncio.sleep(0.1)
        async with GraphClient(base_url=f"http://127.0.0.1:{port}", version=VERSION) as graph:
            await graph.subscribe_app(DEMO_WABAS[1][0], DEMO_TOKEN)
            apps = await graph.list_subscribed_apps(DEMO_WABAS[1][0], DEMO_TOKEN)
        assert [a.app_id for a in apps] == [DEMO_APP_ID]
    finally:
        process.terminate()
        process.communicate(timeout=10)
