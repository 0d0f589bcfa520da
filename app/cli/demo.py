"""``wabawatch demo [--reset]``: migrate, seed the demo org, start the fake Graph API and serve with
simulated Meta traffic. The port is bound first: if it is taken, nothing else happens."""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
import time
import urllib.request
from pathlib import Path

from app.cli.base import CommandError
from app.cli.serve import bind, run, serve_options
from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="migrate, seed a demo org and serve it (its data is kept)")
    serve_options(demo)
    demo.add_argument(
        "--reset", action="store_true", help="start from an empty database (removes the SQLite file first)"
    )
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    sock = bind(args.host, args.port)
    from app.db.migrate import upgrade_head
    from app.demo.graph_process import connect_demo_wabas, start_fake_graph
    from app.demo.seed import DEMO_PASSWORD, seed_demo
    from app.demo.traffic import DemoTraffic
    from app.graph.fake.demo import DEMO_APP_ID, DEMO_TOKEN
    from app.main import create_app

    if args.reset:
        removed = remove_sqlite_database(settings.database_url)
        print(
            f"removed {removed} to start clean" if removed else "no demo database yet: starting clean",
            flush=True,
        )
    upgrade_head(settings.database_url)
    asyncio.run(seed_demo(settings))
    graph_url, _fake = start_fake_graph()
    # The served app is built from these settings, so it talks to the fake as well.
    settings = settings.model_copy(update={"graph_api_base": graph_url})
    connected = asyncio.run(connect_demo_wabas(settings))
    base = f"http://{args.host}:{args.port}"
    if "base_url" not in settings.model_fields_set:
        # Callback URLs shown, and the checklist's test event, go to this server unless BASE_URL says.
        settings = settings.model_copy(update={"base_url": base})
    banner = (
        f"\n  wabawatch demo is running at {base}/login\n"
        f"  sign in as  owner@demo.example  with password  {DEMO_PASSWORD}\n"
        "  the same password for admin@demo.example, viewer@demo.example and the support\n"
        f"  engineer support@demo.example (platform staff: the support console is at {base}/staff)\n"
        f"  mail the app would send is kept at {base}/dev/mail\n"
        f"  fake Graph API at {graph_url}: {connected} demo WABAs connected (sync, subscriptions);\n"
        f"  to connect one yourself, paste the demo token {DEMO_TOKEN}\n"
        f"  simulated Meta webhooks: one every few seconds to {base}/webhooks/whatsapp/{DEMO_APP_ID}\n"
        f"  the demo keeps its data in {settings.database_url}; `wabawatch demo --reset` starts clean\n"
    )
    threading.Thread(target=_print_when_up, args=(f"{base}/healthz", banner), daemon=True).start()
    # The simulated POSTs every few seconds would bury the banner in "HTTP Request" lines.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    DemoTraffic(base).start()
    run(create_app(settings), sock)
    return 0


def remove_sqlite_database(database_url: str) -> str | None:
    """Removes the demo's SQLite file (with its WAL files) and names it, None when there was none; a
    PostgreSQL database is not ours to drop."""
    from app.db.url import async_url, is_sqlite

    url = async_url(database_url)
    if not is_sqlite(url) or not url.database:
        raise CommandError(
            "--reset removes only an SQLite demo database; empty a PostgreSQL database yourself"
        )
    path = Path(url.database).expanduser()
    existed = path.exists()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return str(path) if existed else None


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
