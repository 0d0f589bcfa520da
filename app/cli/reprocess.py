"""``wabawatch reprocess [--since ISO8601]``: rebuild events from stored deliveries, without
duplicates; prints what it did."""

from __future__ import annotations

import argparse

from app.cli.base import database, run_async
from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = sub.add_parser("reprocess", help="rebuild events from stored deliveries, without duplicates")
    command.add_argument("--since", help="only deliveries received at or after this ISO 8601 instant")
    command.set_defaults(handler=cmd_reprocess)


def cmd_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    return run_async(reprocess_command(settings, since=args.since))


async def reprocess_command(settings: Settings, *, since: str | None) -> int:
    from app.lib.timeutil import parse_iso8601
    from app.processing.processor import Processor
    from app.processing.reprocess import reprocess
    from app.worker import after_commit_hooks

    start = parse_iso8601(since) if since else None
    async with database(settings) as db:
        report = await reprocess(Processor(db, hooks=after_commit_hooks(db)), since=start)
    print(
        f"reprocessed deliveries received since {start.isoformat()}"
        if start
        else "reprocessed every delivery"
    )
    for line in report.lines():
        print(line)
    return 0
