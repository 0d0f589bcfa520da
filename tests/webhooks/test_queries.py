"""Reads of webhook changes that other packages make through webhooks/queries.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.db.engine import Database
from app.meta.models import MetaApp
from app.webhooks import queries as webhooks_queries
from app.webhooks.models import ChangeStatus, WebhookChange
from tests.factories import Personas
from tests.support.rows import store_delivery

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def _change(
    db: Database, app: MetaApp, n: int, *, org_id: int | None, status: str, at: datetime
) -> None:
    delivery_id = await store_delivery(db, app, {"n": n}, received_at=at)
    async with db.transaction() as session:
        session.add(
            WebhookChange(
                delivery_id=delivery_id,
                app_pk=app.id,
                entry_index=0,
                change_index=0,
                field="account_update",
                entry_id="102290129340398",
                waba_id="102290129340398",
                org_id=org_id,
                dedup_key=f"{n:064x}",
                value={},
                received_at=at,
                status=status,
            )
        )


async def test_waiting_changes_are_counted_over_every_org(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    async with db.read() as session:
        assert await webhooks_queries.oldest_pending_change_at(session) is None
        assert await webhooks_queries.pending_change_count(session) == 0
    await _change(db, meta_app, 1, org_id=None, status=ChangeStatus.PROCESSED, at=T0)
    await _change(
        db, meta_app, 2, org_id=personas.org.id, status=ChangeStatus.PENDING, at=T0 + timedelta(hours=2)
    )
    await _change(db, meta_app, 3, org_id=None, status=ChangeStatus.PENDING, at=T0 + timedelta(hours=1))
    await _change(
        db, meta_app, 4, org_id=personas.org_other.id, status=ChangeStatus.PENDING, at=T0 + timedelta(hours=3)
    )
    async with db.read() as session:
        assert await webhooks_queries.oldest_pending_change_at(session) == T0 + timedelta(hours=1)
        assert await webhooks_queries.pending_change_count(session) == 3
