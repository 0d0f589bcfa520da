"""Splitting stored deliveries into their ``entry[].changes[]``: one ``WebhookChange`` each, inserted
or ignored on (app_pk, dedup_key), so a change Meta sends again in any delivery becomes nothing new,
and routed to the org that registered (app, WABA) or kept unrouted until one does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.parsing import change_dedup_key, routing_waba_id
from app.jobs import claims
from app.processing.dedup import fold_repeats
from app.wabas import queries as wabas_queries
from app.webhooks.models import ChangeStatus, DeliveryStatus, WebhookChange, WebhookDelivery

_MAX_ERROR = 2000


def clip(text: str) -> str:
    """Error texts are kept, within reason."""
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


class NotSplittable(ValueError):
    """The body is not a Meta notification at all (not JSON, not an object, no entry list)."""


@dataclass(frozen=True)
class SplitChange:
    entry_index: int
    change_index: int
    field: str
    entry_id: str
    entry_time: datetime | None
    waba_id: str | None
    dedup_key: str
    value: dict[str, Any]


# Text no database stores: a UTF-16 surrogate without its pair (a truncated emoji, valid JSON as
# an escape) and NUL. Either would fail every attempt to store the change; it becomes U+FFFD in what
# is stored and shown (the delivery keeps the original bytes). Only a body with such an escape is
# walked, so the common case costs one regular-expression scan.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    """JSON numbers beyond a double (1e999) would be stored as Infinity, which is not JSON either."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:20]} is out of range")
    return number


def _id_text(raw: Any) -> str | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def _unix_time(raw: Any) -> datetime | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        return datetime.fromtimestamp(raw, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def split_body(body: bytes) -> tuple[list[SplitChange], list[str]]:
    """The changes of a delivery body, and what was wrong with the parts that could not be split.

    Raises NotSplittable when nothing can be: not JSON, not an object, no entry list.
    """
    try:
        text = body.decode("utf-8")
        data = json.loads(text, parse_constant=_no_constants, parse_float=_finite)
        if _UNSTORABLE_ESCAPE.search(text):
            data = _storable(data)
    except (ValueError, RecursionError) as exc:
        raise NotSplittable(f"body is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise NotSplittable(f"body is a JSON {type(data).__name__}, not an object")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise NotSplittable('body has no "entry" list')
    found: list[SplitChange] = []
    problems: list[str] = []
    for i, entry in enumerate(entries):
        where = f"entry[{i}]"
        entry_id = _id_text(entry.get("id")) if isinstance(entry, dict) else None
        raw_changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(entry, dict):
            problems.append(f"{where} is not an object")
        elif entry_id is None or len(entry_id) > 64:
            problems.append(f"{where} has no usable id")
        elif not isinstance(raw_changes, list):
            problems.append(f'{where} has no "changes" list')
        else:
            entry_time = _unix_time(entry.get("time"))
            for j, change in enumerate(raw_changes):
                item = _split_change(change, i, j, entry_id, entry_time)
                if isinstance(item, str):
                    problems.append(f"{where}.changes[{j}] {item}")
                else:
                    found.append(item)
    return found, problems


def _split_change(
    change: Any, entry_index: int, change_index: int, entry_id: str, entry_time: datetime | None
) -> SplitChange | str:
    """The change, or what is wrong with it."""
    if not isinstance(change, dict):
        return "is not an object"
    field, value = change.get("field"), change.get("value")
    if not isinstance(field, str) or not field.strip() or len(field) > 100:
        return "has no usable field name"
    if not isinstance(value, dict):
        return "has no value object"
    waba_id = routing_waba_id(field, value, entry_id)
    if waba_id is not None and len(waba_id) > 64:
        return "names a WABA id longer than 64 characters"
    return SplitChange(
        entry_index=entry_index,
        change_index=change_index,
        field=field,
        entry_id=entry_id,
        entry_time=entry_time,
        waba_id=waba_id,
        dedup_key=change_dedup_key(field=field, entry_id=entry_id, entry_time=entry_time, value=value),
        value=value,
    )


async def _insert_changes(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT (app_pk, dedup_key) DO NOTHING; how many rows were new.

    Rows go in (app_pk, dedup_key) order, so two workers inserting overlapping changes lock them in
    the same order and wait for each other instead of deadlocking.
    """
    if not rows:
        return 0
    dialect = postgresql if claims.dialect_name(session) == "postgresql" else sqlite
    table = WebhookChange.__table__
    stmt = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["app_pk", "dedup_key"])
        .returning(table.c.id)
    )
    ordered = sorted(rows, key=lambda row: (int(row["app_pk"]), str(row["dedup_key"])))
    result = await session.execute(stmt, ordered)
    return len(result.all())


@dataclass(frozen=True)
class BodySplit:
    """What ``split_body`` made of a delivery's body: its changes and the problems of its parts, or
    why nothing of it could be split (``error``)."""

    items: list[SplitChange]
    problems: list[str]
    error: str | None = None


def split_delivery(delivery: WebhookDelivery) -> BodySplit:
    """Pure: the delivery is not touched (a batch splits its bodies before it takes the write turn)."""
    if delivery.body is None:
        return BodySplit([], [], "body was purged before it was split")
    try:
        return BodySplit(*split_body(delivery.body))
    except NotSplittable as exc:
        return BodySplit([], [], str(exc))


def _split_one(
    delivery: WebhookDelivery, *, now: datetime, done: BodySplit | None = None
) -> list[SplitChange]:
    """The delivery's changes; marks it processed, or failed saying why (its good parts still count).
    ``done``: its body split already."""
    delivery.processed_at = now
    delivery.next_attempt_at = None
    found = done if done is not None else split_delivery(delivery)
    if found.error is not None:
        delivery.status, delivery.last_error = DeliveryStatus.FAILED, found.error
        return []
    items, problems = found.items, found.problems
    if problems:
        delivery.status = DeliveryStatus.FAILED
        total = len(items) + len(problems)
        delivery.last_error = clip(
            f"{len(problems)} of {total} parts could not be split: " + "; ".join(problems)
        )
    else:
        delivery.status, delivery.last_error = DeliveryStatus.PROCESSED, None
    return items


async def split_deliveries(
    session: AsyncSession,
    deliveries: Sequence[WebhookDelivery],
    *,
    now: datetime,
    done: Mapping[int, BodySplit] | None = None,
) -> int:
    """Splits deliveries into changes and marks each processed (or failed, saying why); returns how
    many changes were new. A pending copy of a body kept already is folded into that row instead
    (``app.processing.dedup``). A batch costs one routing read per Meta app and one insert in all; a
    change that several deliveries carry belongs to the first of them. ``done``: bodies split
    already (``split_delivery``), by delivery id."""
    done = done or {}
    split = [
        (delivery, _split_one(delivery, now=now, done=done.get(delivery.id)))
        for delivery in await fold_repeats(session, deliveries)
    ]
    wanted: dict[int, set[str]] = {}
    for delivery, items in split:
        wanted.setdefault(delivery.app_pk, set()).update(i.waba_id for i in items if i.waba_id)
    routes = {
        app_pk: await wabas_queries.routes_for(session, app_pk=app_pk, waba_ids=waba_ids)
        for app_pk, waba_ids in wanted.items()
    }
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for delivery, items in split:
        for item in items:
            org_id = routes[delivery.app_pk].get(item.waba_id) if item.waba_id else None
            rows.setdefault(
                (delivery.app_pk, item.dedup_key),
                {
                    "delivery_id": delivery.id,
                    "app_pk": delivery.app_pk,
                    "entry_index": item.entry_index,
                    "change_index": item.change_index,
                    "field": item.field,
                    "entry_id": item.entry_id,
                    "entry_time": item.entry_time,
                    "waba_id": item.waba_id,
                    "org_id": org_id,
                    "dedup_key": item.dedup_key,
                    "value": item.value,
                    "received_at": delivery.received_at,
                    "status": ChangeStatus.PENDING if org_id is not None else ChangeStatus.UNROUTED,
                    "attempts": 0,
                },
            )
    return await _insert_changes(session, list(rows.values()))
