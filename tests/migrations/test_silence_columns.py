"""Migration 0014 starts each WABA's ``subscribed_at`` from its latest successful subscribe kept in
subscription_changes, on both databases, and its downgrade drops the two columns again."""

from __future__ import annotations

from datetime import timedelta

import anyio
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select

from app.connections.models import SubscriptionChange
from app.db.engine import Database
from app.db.migrate import alembic_config, upgrade_head
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.wabas.models import Waba
from tests.factories import Personas
from tests.support.rows import register


async def test_0014_starts_subscribed_at_from_the_latest_successful_subscribe(
    db: Database, database_url: str, personas: Personas, meta_app: MetaApp
) -> None:
    waba, _ = await register(db, personas.org, meta_app, name="Quiet")
    config = alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision("0014").down_revision
    assert isinstance(before, str)
    await anyio.to_thread.run_sync(command.downgrade, config, before)
    async with db.engine.connect() as conn:
        columns = await conn.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns("wabas")})
    assert "subscribed_at" not in columns
    now = utcnow().replace(microsecond=0)
    common = {"org_id": personas.org.id, "waba_pk": waba.id, "actor": "command line"}
    async with db.transaction() as session:
        for action, ok, age in (("subscribe", True, 3), ("subscribe", True, 2), ("subscribe", False, 1)):
            await session.execute(
                insert(SubscriptionChange).values(
                    action=action, ok=ok, created_at=now - timedelta(hours=age), **common
                )
            )
        await session.execute(
            insert(SubscriptionChange).values(action="unsubscribe", ok=True, created_at=now, **common)
        )

    await anyio.to_thread.run_sync(upgrade_head, database_url)

    async with db.read() as session:
        found = await session.scalar(select(Waba.subscribed_at).where(Waba.id == waba.id))
    assert found == now - timedelta(hours=2)
