"""Reads of events that other packages make through events/queries.py."""

from __future__ import annotations

from app.db.engine import Database
from app.events import queries as events_queries
from tests.factories import Personas
from tests.support.events import E, store_events


async def test_a_new_event_is_found_for_its_own_org_only(db: Database, personas: Personas) -> None:
    [event] = await store_events(db, personas.org, [E("PIN changed")])
    async with db.read() as session:
        found = await events_queries.new_event_of_org(session, org_id=personas.org.id, event_pk=event.id)
        assert found is not None
        assert found.id == event.id
        other = await events_queries.new_event_of_org(
            session, org_id=personas.org_other.id, event_pk=event.id
        )
        assert other is None
        assert (
            await events_queries.new_event_of_org(session, org_id=personas.org.id, event_pk=event.id + 1)
            is None
        )
