"""``wabawatch demo``'s Meta side: the fake Graph API as a child process (``python -m app.graph.fake
--demo`` on a free port) and the demo WABAs connected to it with the demo's system-user token, so
that sync, the subscription panel and Facebook Login work without a Meta account."""

from __future__ import annotations

import atexit
import socket
import subprocess
import sys
import time

import httpx2

from app.connections import connect, subscriptions
from app.db.engine import open_database
from app.graph.client import GraphClient
from app.graph.fake.demo import DEMO_TOKEN
from app.meta import queries as meta_queries
from app.settings import Settings
from app.tenancy import queries as tenancy_queries
from app.wabas import queries as wabas_queries

START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_fake_graph() -> tuple[str, subprocess.Popen[bytes]]:
    """Starts the fake; returns its base URL once it answers, and the process (ended at exit)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.graph.fake", "--demo", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(process.terminate)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the fake Graph API exited with status {process.returncode}")
        try:
            httpx2.get(f"{url}/_fake/calls", timeout=1.0)
            return url, process
        except httpx2.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"the fake Graph API did not start within {START_TIMEOUT:g} s")


async def connect_demo_wabas(settings: Settings, *, org_slug: str = "demo") -> int:
    """Connects every demo WABA of ``org_slug`` with the demo token (checked and synced as usual) and
    subscribes the demo app to it, as an admin would: the simulated webhooks then match what the
    subscription panel shows."""

    db = open_database(settings)
    connected = 0
    try:
        async with db.read() as session:
            org = await tenancy_queries.org_by_slug(session, org_slug)
            wabas = await wabas_queries.wabas_of_org(session, org.id) if org else []
            targets = [(w.waba_id, await meta_queries.app_by_pk(session, w.app_pk)) for w in wabas]
        async with GraphClient.from_settings(settings) as graph:
            for waba_id, app in targets:
                try:
                    inspection = await connect.inspect(graph, app=app, waba_id=waba_id, token=DEMO_TOKEN)
                except connect.ConnectError as exc:
                    print(f"  demo WABA {waba_id} not connected: {exc}")
                    continue
                async with db.transaction() as session:
                    org = await tenancy_queries.org_by_slug(session, org_slug)
                    current = await meta_queries.usable_app(
                        session, org_id=org.id if org else 0, app_id=app.app_id
                    )
                    if org is None or current is None:
                        continue
                    # Nobody to ask: a shared app's warning stays on the WABA's card, as with the CLI.
                    stored = await connect.store(
                        session,
                        org=org,
                        app=current,
                        inspection=inspection,
                        token=DEMO_TOKEN,
                        actor=None,
                        accept_shared_app=True,
                    )
                    org_id, waba_pk = org.id, stored.waba.id
                outcome = await subscriptions.toggle(
                    db, graph, org_id=org_id, waba_pk=waba_pk, subscribe=True, actor=None
                )
                if not outcome.ok:
                    print(f"  demo WABA {waba_id} connected but not subscribed: {outcome.message}")
                connected += 1
    finally:
        await db.dispose()
    return connected
