"""``wabawatch demo``'s Meta side: the fake Graph API as a child process, the demo WABAs connected to it."""

from __future__ import annotations

from sqlalchemy import func, select

from app.connections import subscriptions
from app.db.engine import Database
from app.demo.graph_process import connect_demo_wabas, start_fake_graph
from app.demo.seed import seed_demo
from app.graph.client import GraphClient
from app.graph.fake.demo import DEMO_APP_ID, DEMO_WABAS
from app.graph.usage import UsageTracker
from app.settings import Settings
from app.wabas.models import PhoneNumber, Waba
from tests.factories import settings_with


async def test_the_demo_connects_its_wabas_to_the_fake_graph_process(
    db: Database, settings: Settings
) -> None:
    url, process = start_fake_graph()
    try:
        await seed_demo(settings)
        demo = settings_with(settings, graph_api_base=url)
        assert await connect_demo_wabas(demo) == len(DEMO_WABAS)
        async with db.read() as session:
            wabas = list(await session.scalars(select(Waba).order_by(Waba.waba_id)))
            phones = await session.scalar(
                select(func.count()).select_from(PhoneNumber).where(PhoneNumber.synced_at.is_not(None))
            )
        assert [(w.waba_id, w.access_token is not None, w.synced_at is not None) for w in wabas] == [
            (waba_id, True, True) for waba_id, _ in sorted(DEMO_WABAS)
        ]
        assert phones == 2 * len(DEMO_WABAS)
        first = next(w for w in wabas if w.waba_id == DEMO_WABAS[0][0])
        async with GraphClient.from_settings(demo, usage=UsageTracker()) as graph:
            status = await subscriptions.read_status(db, graph, org_id=first.org_id, waba_pk=first.id)
        assert status.apps is not None
        # Subscribed, as an admin would have, beside the app the fake already listed.
        assert sorted((row.app_id, row.ours) for row in status.apps) == [
            (DEMO_APP_ID, True),
            ("1000000000000077", False),
        ]
        assert status.our_app_id == DEMO_APP_ID
    finally:
        process.terminate()
        process.wait(10)


async def test_the_demo_connects_through_a_shared_app_and_keeps_the_warning(
    db: Database, settings: Settings
) -> None:
    import httpx2

    from app.graph.fake.demo import DEMO_APP_SECRET
    from app.wabas.models import StateEntry

    url, process = start_fake_graph()
    try:
        owner = {"business_id": "1000000000000555", "business_name": "Partner Agency"}
        async with httpx2.AsyncClient(base_url=url) as control:
            again = await control.post(
                "/_fake/apps", json={"id": DEMO_APP_ID, "secret": DEMO_APP_SECRET, "name": "demo", **owner}
            )
            assert again.status_code == 201
        await seed_demo(settings)
        assert await connect_demo_wabas(settings_with(settings, graph_api_base=url)) == len(DEMO_WABAS)
        async with db.read() as session:
            kept = list(await session.scalars(select(StateEntry).where(StateEntry.key == "app_owner")))
        assert len(kept) == len(DEMO_WABAS)
        assert all(
            str(e.value["warning"]).startswith(f"App {DEMO_APP_ID} is owned by Partner Agency") for e in kept
        )
    finally:
        process.terminate()
        process.wait(10)
