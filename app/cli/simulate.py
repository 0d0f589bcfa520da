"""``wabawatch simulate``: correctly signed notifications sent to a receiver (app secret on
standard input)."""

from __future__ import annotations

import argparse
import sys

from app.cli.base import read_secret
from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from app.simulator import send

    secret = read_secret("App secret: ")
    return send.command(
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
