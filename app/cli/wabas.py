"""``wabawatch waba add|connect|subscribe|unsubscribe|status WABA_ID --org SLUG``.

``add`` registers a WABA without the Graph flow; ``connect`` checks a system-user token (from
standard input) with the Graph API, stores it encrypted and syncs the WABA, as the paste-a-token
form does; the others call ``/{waba}/subscribed_apps`` with the stored token. A Graph error exits
1 with the message in words.
"""

from __future__ import annotations

import argparse
import sys

from app.cli.base import CommandError, database, org_named, read_secret, run_async
from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def cmd_waba_add(args: argparse.Namespace, settings: Settings) -> int:
    return run_async(
        add_waba(settings, waba_id=args.waba_id, org_slug=args.org, app_id=args.app, name=args.name)
    )


def cmd_waba_connect(args: argparse.Namespace, settings: Settings) -> int:
    token = read_secret("System-user access token: ")
    return run_async(
        connect_command(settings, waba_id=args.waba_id, org_slug=args.org, app_id=args.app, token=token)
    )


def cmd_waba_subscription(args: argparse.Namespace, settings: Settings) -> int:
    return run_async(
        subscription_command(settings, action=args.waba_command, waba_id=args.waba_id, org_slug=args.org)
    )


async def add_waba(settings: Settings, *, waba_id: str, org_slug: str, app_id: str, name: str) -> int:
    from app.meta import queries as meta_queries
    from app.wabas import service
    from app.wabas.service import WabaError

    try:
        async with database(settings) as db, db.transaction() as session:
            org = await org_named(session, org_slug)
            app = await meta_queries.app_by_app_id(session, app_id)
            if app is None:
                raise CommandError(f"no Meta app {app_id!r} (add it with `wabawatch app add`)")
            waba, routed = await service.register_waba(session, org=org, app=app, waba_id=waba_id, name=name)
    except WabaError as exc:
        raise CommandError(str(exc)) from exc
    print(f"registered WABA {waba.waba_id} for {org_slug} through Meta app {app_id}")
    _print_routed(routed, org_slug)
    return 0


async def connect_command(settings: Settings, *, waba_id: str, org_slug: str, app_id: str, token: str) -> int:
    """The paste-a-token page's service code, with the token from standard input."""
    from app.connections import connect
    from app.graph.client import GraphClient
    from app.meta import queries as meta_queries

    try:
        async with database(settings) as db:
            async with db.read() as session:
                org = await org_named(session, org_slug)
                app = await meta_queries.usable_app(session, org_id=org.id, app_id=app_id)
                if app is None:
                    raise CommandError(
                        f"no Meta app {app_id!r} for {org_slug} (add it with `wabawatch app add`)"
                    )
            async with GraphClient.from_settings(settings) as graph:
                inspection = await connect.inspect(graph, app=app, waba_id=waba_id, token=token)
            async with db.transaction() as session:
                org = await org_named(session, org_slug)
                current = await meta_queries.usable_app(session, org_id=org.id, app_id=app_id)
                if current is None:
                    raise CommandError("the app was removed meanwhile")
                # Scripts cannot answer a question: the warning is printed, and stays on the WABA's page.
                done = await connect.store(
                    session,
                    org=org,
                    app=current,
                    inspection=inspection,
                    token=token,
                    actor=None,
                    accept_shared_app=True,
                )
    except connect.ConnectError as exc:
        raise CommandError(str(exc)) from exc
    print(f"connected WABA {done.waba.waba_id} ({done.waba.name}) for {org_slug} through Meta app {app_id}")
    print(f"{done.phones} phone number{'s' if done.phones != 1 else ''} synced")
    for note in (done.warning, done.unchecked):
        if note:
            print(f"warning: {note}", file=sys.stderr)
    _print_routed(done.routed, org_slug)
    return 0


async def subscription_command(settings: Settings, *, action: str, waba_id: str, org_slug: str) -> int:
    from app.connections import subscriptions
    from app.connections.sync import NotConnected
    from app.graph.client import GraphClient
    from app.wabas import queries as wabas_queries

    try:
        async with database(settings) as db:
            async with db.read() as session:
                org = await org_named(session, org_slug)
                waba = await wabas_queries.waba_of_org(session, org_id=org.id, waba_id=waba_id.strip())
                if waba is None:
                    raise CommandError(f"no WABA {waba_id!r} in {org_slug}")
                org_id, waba_pk = org.id, waba.id
            async with GraphClient.from_settings(settings) as graph:
                if action == "status":
                    status = await subscriptions.read_status(db, graph, org_id=org_id, waba_pk=waba_pk)
                    for line in subscriptions.describe(status):
                        print(line)
                    if status.error:
                        raise CommandError(status.error)
                    return 0
                outcome = await subscriptions.toggle(
                    db, graph, org_id=org_id, waba_pk=waba_pk, subscribe=action == "subscribe", actor=None
                )
    except NotConnected as exc:
        raise CommandError(str(exc)) from exc
    if not outcome.ok:
        raise CommandError(outcome.message)
    print(outcome.message)
    for line in subscriptions.describe(outcome.status)[1:]:
        print(line)
    return 0


def _print_routed(routed: int, org_slug: str) -> None:
    if routed:
        print(
            f"{routed} earlier change{'s' if routed != 1 else ''} routed to {org_slug}; the worker processes them"
        )
