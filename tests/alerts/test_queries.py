"""Reads of the outbox that other packages make through alerts/queries.py."""

from __future__ import annotations

from app.alerts import outbox
from app.alerts import queries as alerts_queries
from app.alerts.models import DeliveryStatus
from app.db.engine import Database
from tests.factories import Personas


async def test_outbox_rows_are_counted_by_status_over_every_org(db: Database, personas: Personas) -> None:
    async with db.transaction() as session:
        for org_id in (personas.org.id, personas.org_other.id, personas.org.id):
            row = await outbox.enqueue_notice(
                session, org_id=org_id, to=["owner@acme.example"], title="Disabled", summary="Gone", link="/"
            )
        assert row is not None
        row.status = DeliveryStatus.SENT
    async with db.read() as session:
        assert await alerts_queries.delivery_status_counts(session) == [
            (DeliveryStatus.QUEUED, 2),
            (DeliveryStatus.SENT, 1),
        ]
