"""Migration 0011 leaves one open invitation per address and org (the newest) and then keeps it so
with a unique index, on both databases."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.db.engine import Database
from app.db.migrate import alembic_config, upgrade_head
from app.lib.timeutil import utcnow
from app.tenancy.models import Invitation
from tests.factories import Personas


async def test_0011_withdraws_older_open_duplicates_then_refuses_new_ones(
    db: Database, database_url: str, personas: Personas
) -> None:
    await anyio.to_thread.run_sync(command.downgrade, alembic_config(database_url), "0010")
    later = utcnow() + timedelta(days=7)
    rows = [
        {"org_id": personas.org.id, "email": "guest@example.com", "token_digest": digest, "expires_at": later}
        for digest in ("a" * 64, "b" * 64, "c" * 64)
    ]
    rows.append({**rows[0], "token_digest": "d" * 64, "org_id": personas.org_other.id})
    async with db.transaction() as session:
        for row in rows:
            await session.execute(insert(Invitation).values(role="viewer", created_at=utcnow(), **row))

    await anyio.to_thread.run_sync(upgrade_head, database_url)

    async with db.read() as session:
        found = (await session.execute(select(Invitation.token_digest, Invitation.revoked_at))).all()
    open_digests = sorted(digest for digest, revoked in found if revoked is None)
    assert open_digests == ["c" * 64, "d" * 64]  # the newest of acme's, and bravo's own
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(
                insert(Invitation).values(
                    role="viewer", created_at=utcnow(), **{**rows[0], "token_digest": "e" * 64}
                )
            )
