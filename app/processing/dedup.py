"""A body Meta sends again is kept once: the worker folds each pending copy into the row kept for it.

The intake only appends (see ``WebhookDelivery``). Before a batch of deliveries is split, each
pending one whose body is kept already (a row of the same app and sha256 that is not pending) or
comes earlier in the same batch is folded into that row: the row counts it (``duplicate_count``,
``last_duplicate_at``, and ``received_at`` stays the first time either was received) and the copy is
deleted. A pending delivery has not been split, so no change refers to it.

On PostgreSQL two workers can hold two copies of one body at once (SKIP LOCKED hands them different
rows). Each takes a transaction-scoped advisory lock per body first, in key order, so the second
waits until the first has committed and then finds the row it kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from app.jobs import claims
from app.webhooks.models import DEDUPLICATED, DeliveryStatus, WebhookDelivery

Key = tuple[int, str]
# The first of pg_advisory_xact_lock's two keys: which kind of thing the second one names.
LOCK_SPACE = 0x77A5D1  # "wabawatch deliveries"

_LOCK_IN_ORDER = text(
    # A volatile function in the select list runs after the sort, so the locks are taken in order.
    "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(:space, k) FROM unnest(:keys) AS t(k) ORDER BY k) AS s"
).bindparams(bindparam("keys", type_=ARRAY(INTEGER)))


def lock_key(key: Key) -> int:
    """A signed 32-bit number for the body; two bodies sharing one only wait for each other."""
    value = int(key[1][:8], 16) ^ (key[0] & 0xFFFFFFFF)
    return value - (1 << 32) if value >= 1 << 31 else value


async def _lock(session: AsyncSession, keys: Iterable[Key]) -> None:
    numbers = sorted({lock_key(key) for key in keys})
    await session.execute(_LOCK_IN_ORDER, {"space": LOCK_SPACE, "keys": numbers})


def kept_query(keys: set[Key]) -> Select[WebhookDelivery]:
    """The rows kept for these bodies (without the bodies), and perhaps others of those apps and
    hashes. The predicate is written as the index's own text: SQLite uses a partial index only
    for a query that names its condition literally, not through a bound parameter."""
    return (
        select(WebhookDelivery)
        .options(
            load_only(
                WebhookDelivery.app_pk,
                WebhookDelivery.body_sha256,
                WebhookDelivery.received_at,
                WebhookDelivery.duplicate_count,
                WebhookDelivery.last_duplicate_at,
            )
        )
        .where(
            WebhookDelivery.app_pk.in_({app_pk for app_pk, _ in keys}),
            WebhookDelivery.body_sha256.in_({sha for _, sha in keys}),
            text(DEDUPLICATED),
        )
    )


async def _kept(session: AsyncSession, keys: set[Key]) -> dict[Key, WebhookDelivery]:
    rows = {(row.app_pk, row.body_sha256): row for row in await session.scalars(kept_query(keys))}
    return {key: row for key, row in rows.items() if key in keys}


def _latest(*times: datetime | None) -> datetime:
    return max(t for t in times if t is not None)


def fold(kept: WebhookDelivery, copy: WebhookDelivery) -> None:
    """``kept`` counts ``copy`` and every repeat ``copy`` had counted itself."""
    first = min(kept.received_at, copy.received_at)
    kept.last_duplicate_at = _latest(
        kept.received_at, copy.received_at, kept.last_duplicate_at, copy.last_duplicate_at
    )
    kept.received_at = first
    kept.duplicate_count += 1 + copy.duplicate_count


async def fold_repeats(session: AsyncSession, deliveries: Sequence[WebhookDelivery]) -> list[WebhookDelivery]:
    """``deliveries`` (in id order) less the pending copies of a body kept already, which are
    folded into the row kept for it and deleted; the rest are to be split."""
    pending = [d for d in deliveries if d.status == DeliveryStatus.PENDING]
    if not pending:
        return list(deliveries)
    keys = {(d.app_pk, d.body_sha256) for d in pending}
    if claims.dialect_name(session) == "postgresql":
        await _lock(session, keys)
    kept = await _kept(session, keys)
    to_split: list[WebhookDelivery] = []
    folded: list[WebhookDelivery] = []
    for delivery in deliveries:
        key = (delivery.app_pk, delivery.body_sha256)
        original = kept.get(key)
        if delivery.status != DeliveryStatus.PENDING or original is None:
            # Split now; once split it is the row kept for its body (reprocess may hand in rows
            # that are kept already).
            kept.setdefault(key, delivery)
            to_split.append(delivery)
        else:
            fold(original, delivery)
            folded.append(delivery)
    if folded:
        for copy in folded:
            session.expunge(copy)
        await session.execute(
            delete(WebhookDelivery)
            .where(WebhookDelivery.id.in_([copy.id for copy in folded]))
            .execution_options(synchronize_session=False)
        )
    return to_split
