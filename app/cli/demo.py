"""``wabawatch demo``: migrate, seed the demo org, start the fake Graph API and serve with
simulated Meta traffic."""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
import time
import urllib.request

from app.cli.serve import cmd_serve, serve_options
from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="migrate, seed a demo org and serve it")
    serve_options(demo)
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from app.db.migrate import upgrade_head
    from app.demo.graph_process import connect_demo_wabas, start_fake_graph
    from app.demo.seed import DEMO_PASSWORD, seed_demo
    from app.demo.traffic import DemoTraffic
    from app.graph.fake.demo import DEMO_APP_ID

    upgrade_head(settings.database_url)
    asyncio.run(seed_demo(settings))
    graph_url, _fake = start_fake_graph()
    # The served app is built from these settings (cmd_serve), so it talks to the fake as well.
    settings = settings.model_copy(update={"graph_api_base": graph_url})
    connected = asyncio.run(connect_demo_wabas(settings))
    base = f"http://{args.host}:{args.port}"
    banner = (
        f"\n  wabawatch demo is running at {base}/login\n"
        f"  sign in as  owner@demo.example  with password  {DEMO_PASSWORD}\n"
        "  (admin@demo.example and viewer@demo.example use the same password)\n"
        f"  fake Graph API at {graph_url}: {connected} demo WABAs connected (sync, subscriptions)\n"
        f"  simulated Meta webhooks: one every few seconds to {base}/webhooks/whatsapp/{DEMO_APP_ID}\n"
    )
    threading.Thread(target=_print_when_up, args=(f"{base}/healthz", banner), daemon=True).start()
    # The simulated POSTs every few seconds would bury the banner in "HTTP Request" lines.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    DemoTraffic(base).start()
    return cmd_serve(args, settings)


def _print_when_up(health_url: str, banner: str) -> None:
    """The demo's URL is printed once the server answers, so opening it at once works."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(health_url, timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    print(banner, flush=True)
