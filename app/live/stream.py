"""The messages of one org's event stream: a replay of what the client missed, then live rows.

Every row is a message with ``id:`` = the event id and the rendered timeline row as data (htmx
swaps it in at the top); after news of the org's events a named ``state`` message tells state
cards to refresh. Notifications only say "these ids are new": rows are always read from the table,
and after a RESYNC (a full queue, a LISTEN reconnect) or RESYNC_SECONDS of silence the stream
re-reads everything above the highest id it has sent, which closes any gap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass

from sse_starlette import ServerSentEvent
from starlette.requests import Request

from app.db.engine import Database
from app.events import queries
from app.events.filters import Filters
from app.events.models import Event
from app.events.views import row_view
from app.live.hub import CLOSED, Hub, Published
from app.tenancy.context import OrgContext
from app.wabas import queries as wabas_queries
from app.web import csrf
from app.web.templating import templates

REPLAY_LIMIT = 200
RESYNC_SECONDS = 20.0
STATE_EVENT = "state"
LIVE_COMMENT = "live"
_REMEMBERED = 1000


@dataclass
class StreamRequest:
    request: Request
    ctx: OrgContext
    where: Filters
    last_event_id: int | None


class Sent:
    """Ids already sent on this stream (the recent ones), and the highest."""

    def __init__(self, floor: int) -> None:
        self.high = floor
        self._recent: deque[int] = deque(maxlen=_REMEMBERED)
        self._set: set[int] = set()

    def fresh(self, events: Iterable[Event]) -> list[Event]:
        out = [e for e in events if e.id not in self._set]
        for event in out:
            if len(self._recent) == self._recent.maxlen:
                self._set.discard(self._recent[0])
            self._recent.append(event.id)
            self._set.add(event.id)
            self.high = max(self.high, event.id)
        return out


def render_row(spec: StreamRequest, event: Event, names: Mapping[str, str]) -> str:
    template = templates.env.get_template("live/_row.html")
    return template.render(
        request=spec.request,
        ctx=spec.ctx,
        event=row_view(event, names),
        csrf_token=csrf.get_token(spec.request),
    )


def as_messages(spec: StreamRequest, events: list[Event], names: Mapping[str, str]) -> list[ServerSentEvent]:
    return [ServerSentEvent(render_row(spec, e, names), id=str(e.id)) for e in events]


async def messages(db: Database, hub: Hub, spec: StreamRequest) -> AsyncIterator[ServerSentEvent]:
    org_id = spec.ctx.org_id
    # Subscribe before reading, so nothing committed in between is missed (duplicates are skipped).
    async with hub.subscribe(org_id) as sub:
        async with db.read() as session:
            if spec.last_event_id is None:
                sent = Sent(await queries.latest_event_id(session, org_id=org_id))
                backlog: list[Event] = []
            else:
                sent = Sent(spec.last_event_id)
                backlog = await queries.events_after(
                    session, org_id=org_id, where=spec.where, after_id=spec.last_event_id, limit=REPLAY_LIMIT
                )
            names = await wabas_queries.waba_names(session, org_id=org_id)
        replayed = sent.fresh(backlog)
        for message in as_messages(spec, replayed, names):
            yield message
        if replayed:
            # What changed while the client was away may have moved state cards too.
            yield ServerSentEvent(str(len(replayed)), event=STATE_EVENT, id=str(sent.high))
        # A comment (ignored by browsers): from here on, news of new events is being listened for.
        yield ServerSentEvent(comment=LIVE_COMMENT)
        while True:
            notice = await sub.next(RESYNC_SECONDS)
            if notice is CLOSED:
                return
            async with db.read() as session:
                if isinstance(notice, Published):
                    found = (
                        await queries.events_by_ids(
                            session, org_id=org_id, where=spec.where, ids=notice.event_ids
                        )
                        if notice.event_ids
                        else []
                    )
                else:
                    found = await queries.events_after(
                        session, org_id=org_id, where=spec.where, after_id=sent.high, limit=REPLAY_LIMIT
                    )
                fresh = sent.fresh(found)
                if fresh:  # a WABA may have been registered or renamed since the stream opened
                    names = await wabas_queries.waba_names(session, org_id=org_id)
            for message in as_messages(spec, fresh, names):
                yield message
            if isinstance(notice, Published):
                newest = max((sent.high, *notice.event_ids))
                yield ServerSentEvent(str(len(notice.event_ids)), event=STATE_EVENT, id=str(newest))
