"""The exported shape of an event (``wabawatch events --json``, later ``/events.json``).

Exactly these keys: id, field, kind, severity ("info"/"warning"/"critical"), waba_id, phone
("+16505551111" or null), occurred_at, received_at (ISO 8601 UTC, "Z"), summary. The CLI lists
events **oldest first**, like a log, so that ``--since`` with the last time seen continues a feed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TextIO

from app.db.engine import Database
from app.events import timeline_queries as queries
from app.events.parsed import Severity
from app.lib.timeutil import parse_iso8601
from app.settings import Settings
from app.tenancy import queries as tenancy_queries

BATCH = 2000
FIRST_BATCH = 200


def iso(moment: datetime) -> str:
    if moment.utcoffset() != _ZERO:  # columns hand back UTC already; anything else is converted
        moment = moment.astimezone(UTC)
    return moment.isoformat()[:-6] + "Z"  # without "+00:00"


_ZERO = timedelta(0)
_LABELS = {int(s): s.label for s in Severity}


def severity_label(value: int) -> str:
    label = _LABELS.get(value)
    if label is not None:
        return label
    return "critical" if value > Severity.CRITICAL else "info"


class EventFields(Protocol):
    """An ``Event`` or a row of ``EXPORT_COLUMNS`` (cheaper than entities for long exports)."""

    @property
    def id(self) -> int: ...
    @property
    def field(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> int: ...
    @property
    def waba_id(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def summary(self) -> str: ...


def event_json(event: EventFields) -> dict[str, Any]:
    return {
        "id": event.id,
        "field": event.field,
        "kind": event.kind,
        "severity": severity_label(event.severity),
        "waba_id": event.waba_id,
        "phone": f"+{event.phone}" if event.phone else None,
        "occurred_at": iso(event.occurred_at),
        "received_at": iso(event.received_at),
        "summary": event.summary,
    }


def event_line(event: EventFields, *, as_json: bool) -> str:
    if as_json:
        return json.dumps(event_json(event), ensure_ascii=False)
    phone = f"+{event.phone}" if event.phone else "-"
    return "\t".join(
        [
            iso(event.occurred_at),
            severity_label(event.severity),
            f"{event.field}/{event.kind}",
            phone,
            event.summary,
        ]
    )


async def stream_events(
    db: Database, *, org_id: int, where: queries.EventFilter, batch: int | None = None
) -> AsyncIterator[EventFields]:
    """Every matching event of the org, oldest first, read ``batch`` rows at a time (each batch its
    own short read, so a long export holds no transaction open and memory stays flat). The first
    batch is smaller so that a download starts at once."""
    batch = batch or BATCH
    after: queries.Cursor | None = None
    size = min(batch, FIRST_BATCH)
    while True:
        async with db.read() as session:
            rows = await queries.oldest_first(session, org_id=org_id, where=where, after=after, limit=size)
        for row in rows:
            yield row
        if len(rows) < size:
            return
        after = queries.Cursor.of(rows[-1])
        size = batch


async def print_events(
    settings: Settings,
    *,
    org_slug: str,
    waba_id: str | None,
    since: str | None,
    as_json: bool,
    out: TextIO | None = None,
) -> int:
    from app.cli import CommandError
    from app.cli.users import open_database

    out = out or sys.stdout
    try:
        since_at = parse_iso8601(since) if since else None
    except ValueError as exc:
        raise CommandError(
            f"--since must be an ISO 8601 time such as 2026-11-25T14:00:00Z, not {since!r}"
        ) from exc
    db = open_database(settings)
    try:
        async with db.read() as session:
            org = await tenancy_queries.org_by_slug(session, org_slug)
        if org is None:
            raise CommandError(f"no organization with the URL name {org_slug!r}")
        where = queries.EventFilter(waba_id=waba_id, since=since_at)
        try:
            async for event in stream_events(db, org_id=org.id, where=where, batch=BATCH):
                out.write(event_line(event, as_json=as_json) + "\n")
            out.flush()
        except BrokenPipeError:  # `| head` closed the pipe: not an error
            return 0
    finally:
        await db.dispose()
    return 0
