"""The ``wabawatch`` command: one module per noun, each adding its sub-commands to the parser.
Secrets come from standard input, never from arguments.

A command imports what it runs when it runs (inside its functions), so that ``wabawatch --help``
and a mistyped argument answer at once instead of loading the whole app first."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from app.cli import apps, db, demo, events, reprocess, serve, simulate, users, wabas, worker
from app.cli.base import CommandError
from app.settings import InsecureSettingsError, Settings, get_settings

Handler = Callable[[argparse.Namespace, Settings], int]

# In the order ``wabawatch --help`` lists them.
NOUNS = (serve, demo, db, users, apps, simulate, events, worker, reprocess, wabas)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wabawatch", description="WhatsApp Business Account webhook dashboard"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for noun in NOUNS:
        noun.register(sub)
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
