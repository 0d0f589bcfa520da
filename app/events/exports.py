"""The timeline's downloads (``events.csv`` and ``events.json``), streamed.

Both read through ``export.stream_events`` (keyset batches, each its own short read), so memory
stays flat however many rows match, and write the fields of ``wabawatch events --json`` oldest first.
CSV cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or carriage
return) get a leading apostrophe: a summary is text Meta's payload controls.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from app.db.engine import Database
from app.events.export import FIRST_BATCH, EventFields, event_json, iso, severity_label, stream_events
from app.events.filters import Filters

COLUMNS = ("id", "field", "kind", "severity", "waba_id", "phone", "occurred_at", "received_at", "summary")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps would build an encoder per row
_FLUSH_ROWS = FIRST_BATCH  # rows per chunk sent: the first goes out as soon as the first batch is read


def safe_cell(value: str | None) -> str:
    """Text from a payload, as a spreadsheet cell that cannot run (ids, times, severities are ours)."""
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_row(event: EventFields) -> tuple[object, ...]:
    """The row of ``COLUMNS`` (the same values as ``event_json``; text columns defused)."""
    return (
        event.id,
        safe_cell(event.field),
        safe_cell(event.kind),
        severity_label(event.severity),
        safe_cell(event.waba_id),
        safe_cell(f"+{event.phone}" if event.phone else None),
        iso(event.occurred_at),
        iso(event.received_at),
        safe_cell(event.summary),
    )


async def csv_lines(db: Database, *, org_id: int, filters: Filters) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    async for event in stream_events(db, org_id=org_id, where=filters):
        writer.writerow(_csv_row(event))
        count += 1
        if count % _FLUSH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def json_chunks(db: Database, *, org_id: int, filters: Filters) -> AsyncIterator[str]:
    """A JSON array written element by element."""
    parts: list[str] = ["["]
    first = True
    async for event in stream_events(db, org_id=org_id, where=filters):
        parts.append(("" if first else ",\n") + _ENCODE(event_json(event)))
        first = False
        if len(parts) >= _FLUSH_ROWS:
            yield "".join(parts)
            parts = []
    parts.append("]\n")
    yield "".join(parts)
