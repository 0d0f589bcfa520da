"""The staff timeline's live rows, built from the customer's stream's parts (``app.live.stream``:
the hub, ``Sent``, the replay and resync limits) so that it replays and resyncs the same way; its
rows link to staff's own event pages and carry no customer action (no acknowledge button)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

from sse_starlette import ServerSentEvent

from app.db.engine import Database
from app.events import queries
from app.events.filters import Filters
from app.events.models import Event
from app.live.hub import CLOSED, Hub, Published
from app.live.stream import LIVE_COMMENT, REPLAY_LIMIT, RESYNC_SECONDS, STATE_EVENT, Sent
from app.wabas import queries as wabas_queries

RenderRow = Callable[[Event, Mapping[str, str]], str]  # the row, with the org's WABA names


async def messages(
    db: Database, hub: Hub, *, org_id: int, where: Filters, last_event_id: int | None, render: RenderRow
) -> AsyncIterator[ServerSentEvent]:
    async with hub.subscribe(org_id) as sub:
        async with db.read() as session:
            if last_event_id is None:
                sent = Sent(await queries.latest_event_id(session, org_id=org_id))
                backlog: list[Event] = []
            else:
                sent = Sent(last_event_id)
                backlog = await queries.events_after(
                    session, org_id=org_id, where=where, after_id=last_event_id, limit=REPLAY_LIMIT
                )
            names = await wabas_queries.waba_names(session, org_id=org_id)
        for event in sent.fresh(backlog):
            yield ServerSentEvent(render(event, names), id=str(event.id))
        yield ServerSentEvent(comment=LIVE_COMMENT)
        while True:
            notice = await sub.next(RESYNC_SECONDS)
            if notice is CLOSED:
                return
            async with db.read() as session:
                if isinstance(notice, Published):
                    found = await queries.events_by_ids(
                        session, org_id=org_id, where=where, ids=notice.event_ids
                    )
                else:
                    found = await queries.events_after(
                        session, org_id=org_id, where=where, after_id=sent.high, limit=REPLAY_LIMIT
                    )
                fresh = sent.fresh(found)
                if fresh:  # a WABA may have been registered or renamed since the stream opened
                    names = await wabas_queries.waba_names(session, org_id=org_id)
            for event in fresh:
                yield ServerSentEvent(render(event, names), id=str(event.id))
            if isinstance(notice, Published):
                yield ServerSentEvent(str(len(notice.event_ids)), event=STATE_EVENT, id=str(sent.high))
