"""What tells the hub which orgs have news: the after-commit hook for new events, and the
receiver's hook for a verified callback URL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from app.db.engine import Database
from app.events import queries
from app.events.hooks import EventsCommittedHook
from app.live.hub import hub_for
from app.meta import queries as meta_queries
from app.wabas import queries as wabas_queries


def publisher(db: Database) -> EventsCommittedHook:
    """Runs once processing has committed: one short transaction reads the events' orgs and
    publishes per org (on PostgreSQL the NOTIFYs go out when it commits). It writes no row, so on
    SQLite it takes no write turn."""
    hub = hub_for(db)

    async def publish_committed(event_ids: Sequence[int]) -> None:
        async with db.read() as session:
            for org_id, ids in (await queries.orgs_of_events(session, event_ids)).items():
                await hub.publish(session, org_id, ids)
            await session.commit()

    return publish_committed


def handshake_publisher(db: Database) -> Callable[[int], Awaitable[None]]:
    """For the receiver, once Meta verified an app's callback URL: the orgs that see that app (its
    owner, and every org with a WABA connected through it) get a ``state`` message on their streams."""
    hub = hub_for(db)

    async def publish_handshake(app_pk: int) -> None:
        async with db.transaction() as session:
            app = await meta_queries.app_by_pk(session, app_pk)
            orgs = set(await wabas_queries.orgs_of_app(session, app_pk=app_pk))
            if app.org_id is not None:
                orgs.add(app.org_id)
            for org_id in sorted(orgs):
                await hub.publish_state(session, org_id)

    return publish_handshake
