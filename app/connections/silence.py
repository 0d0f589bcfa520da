"""The worker's silence watch: a WABA that stays verified but silent (app.wabas.silence) for its
``silent_after_hours`` gets one warning event, which alert rules can pick like any other event
(field ``subscription``, kind ``verified_but_silent``), so the alert goes through the outbox in the
same transaction and is never lost. One event per silence: the claim on the WABA's row
(``silence_alerted_at``) holds until an event or a new subscribe starts the next silence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import outbox as alerts_outbox
from app.db.engine import Database
from app.events.hooks import EventsCommittedHook, events_committed
from app.events.models import Event
from app.events.parsed import Severity
from app.jobs.periodic import Gate
from app.lib import words
from app.lib.timeutil import utcnow, when
from app.wabas import queries as wabas_queries
from app.wabas import service as wabas_service
from app.wabas import silence


async def raise_silence(session: AsyncSession, *, org_id: int, waba_pk: int, now: datetime) -> Event | None:
    """The silence event of the WABA and its alerts, unless it is not silent or was already told."""
    waba = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
    if waba is None or not silence.needs_alert(waba, now):
        return None
    since, quiet = silence.quiet_since(waba), silence.silent_for(waba, now)
    if since is None or quiet is None:  # needs_alert said both are known; this tells mypy
        return None
    if not await wabas_service.claim_silence_alert(session, waba_pk=waba.id, since=since, now=now):
        return None
    event = Event(
        change_id=None,
        seq=0,
        app_pk=waba.app_pk,
        org_id=waba.org_id,
        waba_pk=waba.id,
        waba_id=waba.waba_id,
        field=silence.FIELD,
        kind=silence.KIND,
        severity=int(Severity.WARNING),
        occurred_at=now,
        received_at=now,
        summary=(
            f"{words.waba_subject(waba.name, waba.waba_id)} is verified but silent: our app is "
            f"subscribed, yet no event has arrived for {silence.hours(quiet)} hours (since {when(since)})"
        ),
        details={
            "quiet_since": since.isoformat(),
            "hours": silence.hours(quiet),
            "silent_after_hours": waba.silent_after_hours,
            "source": "wabawatch",
        },
    )
    session.add(event)
    await session.flush()
    await alerts_outbox.enqueue_for_events(session, org_id=waba.org_id, event_ids=[event.id], now=now)
    return event


class SilenceWatch:
    """The worker's pass: looks for silent WABAs at most once per ``check_every`` and raises each
    silence once; the new events reach open timelines through ``hooks`` after they commit."""

    def __init__(
        self,
        db: Database,
        *,
        hooks: Sequence[EventsCommittedHook],
        check_every: timedelta = timedelta(minutes=1),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.hooks = hooks
        self.check_every = check_every
        self.clock = clock
        self._gate = Gate()

    async def run(self) -> int:
        now = self.clock()
        if self._gate.is_shut(now):
            return 0
        self._gate.shut_for(self.check_every, now=now)
        async with self.db.read() as session:
            due = [
                (w.org_id, w.id)
                for w in await wabas_queries.subscribed_wabas(session)
                if silence.needs_alert(w, now)
            ]
        raised: list[int] = []
        for org_id, waba_pk in due:
            async with self.db.transaction() as session:
                event = await raise_silence(session, org_id=org_id, waba_pk=waba_pk, now=now)
                if event is not None:
                    raised.append(event.id)
        await events_committed(self.hooks, raised)
        return len(raised)
