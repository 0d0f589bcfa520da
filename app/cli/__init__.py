"""The ``wabawatch`` command. Secrets come from standard input, never from arguments."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.exc import DBAPIError

from app.settings import InsecureSettingsError, Settings, get_settings

Handler = Callable[[argparse.Namespace, Settings], int]


class CommandError(Exception):
    """Printed to stderr as is; the command exits with status 1."""


def read_secret(prompt: str) -> str:
    """A secret from standard input: a hidden prompt on a terminal, the first line of a pipe otherwise."""
    value = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise CommandError(f"{prompt.rstrip(': ')} is required on standard input")
    return value


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coro)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.main import create_app

    settings.check_production()
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        log_level="info",
        log_config=None,  # uvicorn's lines go through the app's JSON handler (app.web.logs)
        access_log=False,
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from app.db.migrate import upgrade_head

    upgrade_head(settings.database_url)
    print("database is at the latest schema")
    return 0


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.users import create_user

    password = read_secret("Password: ")
    return run_async(
        create_user(
            settings, email=args.email, org_slug=args.org, role=args.role, staff=args.staff, password=password
        )
    )


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.users import seed_demo
    from app.db.migrate import upgrade_head
    from app.demo.graph_process import connect_demo_wabas, start_fake_graph

    upgrade_head(settings.database_url)
    asyncio.run(seed_demo(settings))
    graph_url, _fake = start_fake_graph()
    # The served app is built from these settings (cmd_serve), so it talks to the fake as well.
    settings = settings.model_copy(update={"graph_api_base": graph_url})
    connected = asyncio.run(connect_demo_wabas(settings))
    base = f"http://{args.host}:{args.port}"
    from app.demo.traffic import DEMO_APP_ID, DemoTraffic

    banner = (
        f"\n  wabawatch demo is running at {base}/login\n"
        "  sign in as  owner@demo.example  with password  demo-password-1\n"
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
    import time
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(health_url, timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    print(banner, flush=True)


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from app.simulator import send as simulate

    secret = read_secret("App secret: ")
    return simulate.command(
        url=args.url,
        app_id=args.app_id,
        secret=secret,
        field_name=args.field,
        file=args.file,
        waba_ids=args.waba or [],
        count=args.count,
        rate=args.rate,
        out=sys.stdout,
        err=sys.stderr,
    )


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    from app.events.export import print_events

    return run_async(
        print_events(settings, org_slug=args.org, waba_id=args.waba, since=args.since, as_json=args.json)
    )


def cmd_app_add(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.apps import add_app

    secret = read_secret("App secret: ")
    return run_async(
        add_app(
            settings,
            app_id=args.app_id,
            verify_token=args.verify_token,
            org_slug=args.org,
            name=args.name,
            app_secret=secret,
        )
    )


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from app.worker import worker_command

    return run_async(worker_command(settings))


def cmd_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    from app.processing.reprocess import reprocess_command

    return run_async(reprocess_command(settings, since=args.since))


def cmd_waba_add(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.wabas import add_waba

    return run_async(
        add_waba(settings, waba_id=args.waba_id, org_slug=args.org, app_id=args.app, name=args.name)
    )


def cmd_waba_connect(args: argparse.Namespace, settings: Settings) -> int:
    from app.connections.connect import connect_command

    token = read_secret("System-user access token: ")
    return run_async(
        connect_command(settings, waba_id=args.waba_id, org_slug=args.org, app_id=args.app, token=token)
    )


def cmd_waba_subscription(args: argparse.Namespace, settings: Settings) -> int:
    from app.connections.subscriptions import subscription_command

    return run_async(
        subscription_command(settings, action=args.waba_command, waba_id=args.waba_id, org_slug=args.org)
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wabawatch", description="WhatsApp Business Account webhook dashboard"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def serve_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)

    serve = sub.add_parser("serve", help="run the web app")
    serve_options(serve)
    serve.set_defaults(handler=cmd_serve)

    demo = sub.add_parser("demo", help="migrate, seed a demo org and serve it")
    serve_options(demo)
    demo.set_defaults(handler=cmd_demo)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate to the latest schema").set_defaults(handler=cmd_db_upgrade)

    user = sub.add_parser("user", help="users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create a user (password on standard input)")
    create.add_argument("email")
    create.add_argument("--org", required=True, help="org URL name; created when it does not exist")
    create.add_argument("--role", required=True, choices=["owner", "admin", "viewer"])
    create.add_argument("--staff", action="store_true", help="platform staff (support console)")
    create.set_defaults(handler=cmd_user_create)

    meta_app = sub.add_parser("app", help="Meta apps")
    app_sub = meta_app.add_subparsers(dest="app_command", required=True)
    app_add = app_sub.add_parser("add", help="register a Meta app (app secret on standard input)")
    app_add.add_argument("app_id", metavar="APP_ID")
    app_add.add_argument("--verify-token", required=True, help="the verify token entered in Meta's dashboard")
    app_add.add_argument("--org", help="org URL name (default: the platform's own app)")
    app_add.add_argument("--name", default="", help="a name to show for the app")
    app_add.set_defaults(handler=cmd_app_add)

    simulate = sub.add_parser(
        "simulate", help="send signed test notifications (app secret on standard input)"
    )
    simulate.add_argument("field", nargs="?", help="webhook field, e.g. security (default: a realistic mix)")
    simulate.add_argument("--url", required=True, help="the server's base URL (or the full callback URL)")
    simulate.add_argument("--app-id", required=True, help="the Meta app id in the callback URL")
    simulate.add_argument("--file", help="send this file's bytes as they are (signed)")
    simulate.add_argument("--waba", action="append", help="WABA id (repeat for several)")
    simulate.add_argument("--count", type=int, default=1, help="notifications to send (0: until Ctrl-C)")
    simulate.add_argument("--rate", type=float, default=1.0, help="notifications per second")
    simulate.set_defaults(handler=cmd_simulate)

    events = sub.add_parser("events", help="an org's events, oldest first")
    events.add_argument("--org", required=True, help="org URL name")
    events.add_argument("--waba", help="only this WABA id")
    events.add_argument("--since", help="only events that occurred at or after this ISO 8601 instant")
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.set_defaults(handler=cmd_events)

    worker = sub.add_parser("worker", help="process stored webhooks (stops on SIGTERM/SIGINT)")
    worker.set_defaults(handler=cmd_worker)

    reprocess = sub.add_parser("reprocess", help="rebuild events from stored deliveries, without duplicates")
    reprocess.add_argument("--since", help="only deliveries received at or after this ISO 8601 instant")
    reprocess.set_defaults(handler=cmd_reprocess)

    waba = sub.add_parser("waba", help="WhatsApp Business Accounts")
    waba_sub = waba.add_subparsers(dest="waba_command", required=True)
    waba_add = waba_sub.add_parser("add", help="register a WABA without the Graph flow")
    waba_add.add_argument("waba_id", metavar="WABA_ID")
    waba_add.add_argument("--org", required=True, help="org URL name")
    waba_add.add_argument("--app", required=True, help="the Meta app id its webhooks arrive through")
    waba_add.add_argument("--name", default="", help="a name to show for the WABA")
    waba_add.set_defaults(handler=cmd_waba_add)
    waba_connect = waba_sub.add_parser(
        "connect", help="check a system-user token (on standard input) with Graph, store it and sync the WABA"
    )
    waba_connect.add_argument("waba_id", metavar="WABA_ID")
    waba_connect.add_argument("--org", required=True, help="org URL name")
    waba_connect.add_argument("--app", required=True, help="the Meta app id the token belongs to")
    waba_connect.set_defaults(handler=cmd_waba_connect)
    for verb, text in (
        ("subscribe", "subscribe our app to the WABA's webhooks (POST subscribed_apps)"),
        ("unsubscribe", "unsubscribe our app (DELETE subscribed_apps)"),
        ("status", "the subscribed apps, ours marked, and the latest rate-limit usage"),
    ):
        waba_verb = waba_sub.add_parser(verb, help=text)
        waba_verb.add_argument("waba_id", metavar="WABA_ID")
        waba_verb.add_argument("--org", required=True, help="org URL name")
        waba_verb.set_defaults(handler=cmd_waba_subscription)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, get_settings())
    except (CommandError, InsecureSettingsError) as exc:
        print(f"wabawatch: {exc}", file=sys.stderr)
        return 1
    except DBAPIError as exc:
        first_line = (str(exc.orig).splitlines() or [""])[0]
        print(
            f"wabawatch: the database refused the command ({type(exc.orig).__name__}: {first_line}). "
            "If the schema is behind, run `wabawatch db upgrade`.",
            file=sys.stderr,
        )
        return 1
    except ValueError as exc:
        print(f"wabawatch: {exc}", file=sys.stderr)
        return 1
