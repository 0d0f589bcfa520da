"""The after-commit hook that tells the hub which orgs have new events."""

from __future__ import annotations

from collections.abc import Sequence

from app.db.engine import Database
from app.events import queries
from app.events.hooks import EventsCommittedHook
from app.live.hub import hub_for


def publisher(db: Database) -> EventsCommittedHook:
    """Runs once processing has committed: one short transaction reads the events' orgs and
    publishes per org (on PostgreSQL the NOTIFYs go out when it commits)."""
    hub = hub_for(db)

    async def publish_committed(event_ids: Sequence[int]) -> None:
        async with db.transaction() as session:
            for org_id, ids in (await queries.orgs_of_events(session, event_ids)).items():
                await hub.publish(session, org_id, ids)

    return publish_committed
