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
from app.events.export import event_json, stream_events
from app.events.filters import Filters

COLUMNS = ("id", "field", "kind", "severity", "waba_id", "phone", "occurred_at", "received_at", "summary")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT = frozenset({"field", "kind", "waba_id", "phone", "summary"})  # ids, times, severities are ours
_FLUSH_ROWS = 500  # rows per chunk sent to the client


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def csv_lines(db: Database, *, org_id: int, filters: Filters) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    async for event in stream_events(db, org_id=org_id, where=filters):
        fields = event_json(event)
        writer.writerow([safe_cell(fields[name]) if name in _TEXT else fields[name] for name in COLUMNS])
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
        parts.append(("" if first else ",\n") + json.dumps(event_json(event), ensure_ascii=False))
        first = False
        if len(parts) >= _FLUSH_ROWS:
            yield "".join(parts)
            parts = []
    parts.append("]\n")
    yield "".join(parts)
