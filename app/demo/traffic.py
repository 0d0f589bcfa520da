"""Demo mode's Meta side: a platform app, a few WABAs for the demo org, and a gentle stream of
signed notifications posted to the server's own receiver, so a visitor sees events arrive.

The demo app's secret is not a secret: it exists only on a demo server, which runs with
development settings that production refuses.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import httpx2

from app.db.engine import Database
from app.graph.fake.demo import DEMO_APP_ID, DEMO_APP_SECRET, DEMO_WABAS
from app.meta import app_cache
from app.meta import service as meta_service
from app.simulator import send as simulate
from app.tenancy import queries as tenancy_queries
from app.wabas import queries as wabas_queries
from app.wabas import service as wabas_service

log = logging.getLogger(__name__)

DEMO_VERIFY_TOKEN = "demo-verify-token"


async def seed_demo_intake(db: Database, *, org_slug: str) -> None:
    """Registers the demo app as the platform's app and the demo WABAs for the org. Safe to run again."""
    async with db.transaction() as session:
        org = await tenancy_queries.org_by_slug(session, org_slug)
        if org is None:
            raise ValueError(f"no organization with the URL name {org_slug!r}")
        saved = await meta_service.save_app(
            session,
            org_id=None,
            app_id=DEMO_APP_ID,
            name="wabawatch demo app",
            app_secret=DEMO_APP_SECRET,
            verify_token=DEMO_VERIFY_TOKEN,
        )
        for waba_id, name in DEMO_WABAS:
            known = await wabas_queries.waba_for_routing(session, app_pk=saved.app.id, waba_id=waba_id)
            if known is None:
                await wabas_service.register_waba(session, org=org, app=saved.app, waba_id=waba_id, name=name)
    app_cache.invalidate(DEMO_APP_ID)


class DemoTraffic(threading.Thread):
    """Posts one signed notification every ``interval`` seconds to ``base_url`` once it answers.

    A daemon thread with its own event loop: it ends with the process, or when the server stops
    answering.
    """

    def __init__(self, base_url: str, *, interval: float = 3.0, startup_timeout: float = 60.0) -> None:
        super().__init__(name="demo-traffic", daemon=True)
        self.base_url = base_url.rstrip("/")
        self.interval = interval
        self.startup_timeout = startup_timeout
        self.outcome = simulate.Outcome()

    def run(self) -> None:
        asyncio.run(self.send())

    async def send(self, count: int = 0) -> simulate.Outcome:
        if not await self._wait_until_up():
            log.warning("demo traffic: %s did not come up; no simulated events", self.base_url)
            return self.outcome
        source = simulate.Source(waba_ids=[waba_id for waba_id, _ in DEMO_WABAS])
        await simulate.run(
            url=self.base_url,
            app_id=DEMO_APP_ID,
            secret=DEMO_APP_SECRET,
            source=source,
            count=count,
            rate=1 / self.interval,
            outcome=self.outcome,
        )
        for reason, n in self.outcome.refused.items():
            log.warning("demo traffic: %d refused: %s", n, reason)
        return self.outcome

    async def _wait_until_up(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        async with httpx2.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                try:
                    if (await client.get(f"{self.base_url}/healthz")).status_code == 200:
                        return True
                except httpx2.TransportError:
                    pass
                await asyncio.sleep(0.2)
        return False
