"""An event as exported: ``wabawatch events --json``, the timeline's ``events.json`` and ``events.csv``.

``wabawatch events --json``: exactly these keys (the contract): id, field, kind, severity
("info"/"warning"/"critical"), waba_id, phone ("+16505551111" or null), occurred_at, received_at
(ISO 8601 UTC, "Z"), summary. The timeline's downloads add ``waba_name`` before ``waba_id`` (what
the org calls the WABA now; null for an event without a WABA or with an unnamed one), so that a
spreadsheet says which WABA without a lookup. Events are listed **oldest first**, like a log, so
that ``--since`` with the last time seen continues a feed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from app.db.engine import Database
from app.events import queries
from app.events.filters import Filters
from app.events.names import waba_label
from app.events.parsed import Severity

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
    """The contract's fields (``wabawatch events --json``)."""
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


def named_event_json(event: EventFields, names: Mapping[str, str]) -> dict[str, Any]:
    """``event_json`` with ``waba_name`` before ``waba_id``; ``names``: WABA id -> name
    (``app.events.names``)."""
    found = event_json(event)
    name = (names.get(event.waba_id) or None) if event.waba_id else None
    return {key: value for key, value in _with_name(found, name)}


def _with_name(found: dict[str, Any], name: str | None) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in found.items():
        if key == "waba_id":
            pairs.append(("waba_name", name))
        pairs.append((key, value))
    return pairs


def event_line(event: EventFields, names: Mapping[str, str], *, as_json: bool) -> str:
    """One line of ``wabawatch events``: the contract's JSON, or tab-separated words with the WABA's
    name and id."""
    if as_json:
        return json.dumps(event_json(event), ensure_ascii=False)
    phone = f"+{event.phone}" if event.phone else "-"
    return "\t".join(
        [
            iso(event.occurred_at),
            severity_label(event.severity),
            f"{event.field}/{event.kind}",
            waba_label(names, event.waba_id),
            phone,
            event.summary,
        ]
    )


async def stream_events(
    db: Database, *, org_id: int, where: Filters, batch: int | None = None
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


# The downloads stream through ``stream_events`` (keyset batches, each its own short read), so
# memory stays flat however many rows match. CSV cells that a spreadsheet would run as a formula
# (starting with ``= + - @``, tab or carriage return) get a leading apostrophe: a summary is text
# Meta's payload controls.
COLUMNS = (
    "id",
    "field",
    "kind",
    "severity",
    "waba_name",
    "waba_id",
    "phone",
    "occurred_at",
    "received_at",
    "summary",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps would build an encoder per row
_FLUSH_ROWS = FIRST_BATCH  # rows per chunk sent: the first goes out as soon as the first batch is read


def safe_cell(value: str | None) -> str:
    """Text from a payload, as a spreadsheet cell that cannot run (ids, times, severities are ours)."""
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_row(event: EventFields, names: Mapping[str, str]) -> tuple[object, ...]:
    """The row of ``COLUMNS`` (the same values as ``event_json``; text columns defused)."""
    return (
        event.id,
        safe_cell(event.field),
        safe_cell(event.kind),
        severity_label(event.severity),
        safe_cell(names.get(event.waba_id) if event.waba_id else None),
        safe_cell(event.waba_id),
        safe_cell(f"+{event.phone}" if event.phone else None),
        iso(event.occurred_at),
        iso(event.received_at),
        safe_cell(event.summary),
    )


async def csv_lines(
    db: Database, *, org_id: int, filters: Filters, names: Mapping[str, str]
) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    async for event in stream_events(db, org_id=org_id, where=filters):
        writer.writerow(_csv_row(event, names))
        count += 1
        if count % _FLUSH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def json_chunks(
    db: Database, *, org_id: int, filters: Filters, names: Mapping[str, str]
) -> AsyncIterator[str]:
    """A JSON array written element by element."""
    parts: list[str] = ["["]
    first = True
    async for event in stream_events(db, org_id=org_id, where=filters):
        parts.append(("" if first else ",\n") + _ENCODE(named_event_json(event, names)))
        first = False
        if len(parts) >= _FLUSH_ROWS:
            yield "".join(parts)
            parts = []
    parts.append("]\n")
    yield "".join(parts)
