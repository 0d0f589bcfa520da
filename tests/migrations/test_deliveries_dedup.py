"""Migration 0009 turns the one-per-body constraint into an index over the rows the worker has seen,
and keeps every delivery and everything that refers to one, on both databases."""

from __future__ import annotations

import anyio
from alembic import command
from sqlalchemy import inspect

from app.db.engine import Database
from app.db.migrate import alembic_config, upgrade_head
from app.events.models import Event
from app.processing.processor import Processor
from app.schema import Base
from app.webhooks.models import WebhookChange, WebhookDelivery
from tests.factories import Personas, create_meta_app
from tests.support.payloads import fixture
from tests.support.rows import count, register, store_delivery
from tests.support.schema_diff import diff_against


async def _counts(db: Database) -> tuple[int, int, int]:
    return (await count(db, WebhookDelivery), await count(db, WebhookChange), await count(db, Event))


async def _unique_constraints(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return await connection.run_sync(
            lambda c: {str(u["name"]) for u in inspect(c).get_unique_constraints("webhook_deliveries")}
        )


async def test_0009_goes_down_and_up_keeping_deliveries_their_changes_and_events(
    db: Database, database_url: str, personas: Personas
) -> None:
    """On SQLite the table is rebuilt: with foreign keys on, dropping the old copy would delete the
    changes (ON DELETE CASCADE) and so the events of every delivery."""
    meta_app = await create_meta_app(db)
    await register(db, personas.org, meta_app)
    for name in ["security__pin_changed", "phone_number_quality_update__downgrade"]:
        await store_delivery(db, meta_app, fixture(name))
    await Processor(db).run_until_idle()
    before = await _counts(db)
    assert before[1] >= 2
    assert before[2] >= 2

    await anyio.to_thread.run_sync(command.downgrade, alembic_config(database_url), "0008")
    assert "uq_webhook_deliveries_app_pk_body_sha256" in await _unique_constraints(db)
    assert await _counts(db) == before

    await anyio.to_thread.run_sync(upgrade_head, database_url)
    assert await _unique_constraints(db) == set()
    assert await _counts(db) == before
    assert await diff_against(db.engine, Base.metadata) == []
