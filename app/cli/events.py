"""``wabawatch events --org SLUG [--waba WABA_ID] [--since ISO8601] [--json]``: an org's events,
oldest first, like a log, so that ``--since`` with the last time seen continues a feed."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from app.cli.base import CommandError, database, org_named, run_async
from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events = sub.add_parser("events", help="an org's events, oldest first")
    events.add_argument("--org", required=True, help="org URL name")
    events.add_argument("--waba", help="only this WABA id")
    events.add_argument("--since", help="only events that occurred at or after this ISO 8601 instant")
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.set_defaults(handler=cmd_events)


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    return run_async(
        print_events(settings, org_slug=args.org, waba_id=args.waba, since=args.since, as_json=args.json)
    )


async def print_events(
    settings: Settings,
    *,
    org_slug: str,
    waba_id: str | None,
    since: str | None,
    as_json: bool,
    out: TextIO | None = None,
) -> int:
    from app.events import downloads
    from app.events.filters import Filters
    from app.lib.timeutil import parse_iso8601
    from app.wabas.queries import waba_names

    out = out or sys.stdout
    try:
        since_at = parse_iso8601(since) if since else None
    except ValueError as exc:
        raise CommandError(
            f"--since must be an ISO 8601 time such as 2026-11-25T14:00:00Z, not {since!r}"
        ) from exc
    async with database(settings) as db:
        async with db.read() as session:
            org = await org_named(session, org_slug)
            names = await waba_names(session, org_id=org.id)
        where = Filters(waba_id=waba_id, since=since_at)
        try:
            async for event in downloads.stream_events(db, org_id=org.id, where=where):
                out.write(downloads.event_line(event, names, as_json=as_json) + "\n")
            out.flush()
        except BrokenPipeError:  # `| head` closed the pipe: not an error
            return 0
    return 0
