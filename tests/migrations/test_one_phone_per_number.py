"""Migration 0012 merges the rows one number was split into (state, events, synced columns) and then
refuses a second row for the same digits or phone number id, on both databases."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.db.engine import Database
from app.db.migrate import alembic_config, upgrade_head
from app.events.models import Event
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.wabas.models import PhoneNumber, StateEntry
from tests.factories import Personas
from tests.support.rows import register

DIGITS = "525598703495"
NUMBER_ID = "106540352242922"


async def test_0012_merges_a_number_listed_twice_keeping_the_newest_state(
    db: Database, database_url: str, personas: Personas, meta_app: MetaApp
) -> None:
    waba, _ = await register(db, personas.org, meta_app)
    await anyio.to_thread.run_sync(command.downgrade, alembic_config(database_url), "0011")
    now = utcnow()
    base = {"org_id": waba.org_id, "waba_pk": waba.id, "verified_name": ""}
    async with db.transaction() as session:
        digits_only = (
            await session.execute(
                insert(PhoneNumber)
                .values(**base, digits=DIGITS, display_phone_number="+52 55 9870 3495", quality_rating="RED")
                .returning(PhoneNumber.id)
            )
        ).scalar_one()
        both = (
            await session.execute(
                insert(PhoneNumber)
                .values(**base, digits=DIGITS, phone_number_id=NUMBER_ID, display_phone_number="")
                .returning(PhoneNumber.id)
            )
        ).scalar_one()
        other = (  # another number by Meta's id that showed the same digits
            await session.execute(
                insert(PhoneNumber)
                .values(**base, digits=DIGITS, phone_number_id="999", display_phone_number="")
                .returning(PhoneNumber.id)
            )
        ).scalar_one()
        event = {"org_id": waba.org_id, "waba_pk": waba.id, "waba_id": waba.waba_id, "app_pk": meta_app.id}
        event |= {"field": "f", "kind": "k", "severity": 0, "summary": "", "details": {}}
        event |= {"occurred_at": now, "received_at": now}
        await session.execute(insert(Event).values(**event, seq=0, phone=DIGITS, phone_number_id=None))
        await session.execute(insert(Event).values(**event, seq=1, phone=None, phone_number_id=NUMBER_ID))
        entry = {"org_id": waba.org_id, "waba_pk": waba.id}
        for subject, key, tier, at in [
            (f"phone:{digits_only}", "messaging_limit", "TIER_10K", now),  # newer: kept
            (f"phone:{both}", "messaging_limit", "TIER_1K", now - timedelta(hours=1)),
            (f"phone:{digits_only}", "quality", "RED", now),  # only here: moves
            (f"phone:{both}", "name", "APPROVED", now),
        ]:
            await session.execute(
                insert(StateEntry).values(
                    **entry, subject=subject, key=key, value={"tier": tier}, occurred_at=at
                )
            )

    await anyio.to_thread.run_sync(upgrade_head, database_url)

    async with db.read() as session:
        phones = {p.id: p for p in await session.scalars(select(PhoneNumber))}
        entries = list(await session.scalars(select(StateEntry)))
        events = list(await session.scalars(select(Event)))
    assert set(phones) == {both, other}
    kept = phones[both]
    assert (kept.digits, kept.phone_number_id) == (DIGITS, NUMBER_ID)
    assert (kept.display_phone_number, kept.quality_rating) == ("+52 55 9870 3495", "RED")
    assert (phones[other].digits, phones[other].phone_number_id) == (None, "999")
    assert {(e.subject, e.key): e.value["tier"] for e in entries} == {
        (f"phone:{both}", "messaging_limit"): "TIER_10K",
        (f"phone:{both}", "quality"): "RED",
        (f"phone:{both}", "name"): "APPROVED",
    }
    assert {(e.phone, e.phone_number_id) for e in events} == {(DIGITS, NUMBER_ID)}
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(insert(PhoneNumber).values(**base, digits=DIGITS, display_phone_number=""))


async def test_0012_downgrades_and_upgrades_again(database_url: str) -> None:
    await anyio.to_thread.run_sync(command.downgrade, alembic_config(database_url), "0011")
    await anyio.to_thread.run_sync(upgrade_head, database_url)
