"""``wabawatch db upgrade``: migrate to the latest schema."""

from __future__ import annotations

import argparse

from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate to the latest schema").set_defaults(handler=cmd_db_upgrade)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from app.db.migrate import upgrade_head

    upgrade_head(settings.database_url)
    print("database is at the latest schema")
    return 0
