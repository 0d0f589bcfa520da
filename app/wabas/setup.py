"""The overview's set-up checklist: each step read from the org's real state, so the list follows
what has happened (and what Meta has done) rather than what was clicked.

Steps, in order: a Meta app reaches the org (its own, or the one its WABAs are connected through);
its callback URL and verify token are pasted into Meta's App Dashboard and Meta verified them (the
handshake); a WABA is connected; our app is subscribed to it; Meta's first notification arrived
(wabawatch's own test event does not count). Also: the org's newest test event, and WABAs that
notifications arrived for through the org's own apps while nobody had connected them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.events import queries as events_queries
from app.events.models import Event
from app.meta import queries as meta_queries
from app.meta.models import MetaApp
from app.tenancy.context import OrgContext
from app.wabas import queries
from app.wabas.apps import AppView, apps_reaching
from app.wabas.models import Waba
from app.webhooks import queries as webhooks_queries
from app.webhooks.queries import UnroutedWaba


@dataclass
class Setup:
    apps: list[AppView]
    platform_apps: list[MetaApp]  # usable to connect WABAs without an app of one's own
    wabas: list[Waba]
    first_event: bool
    last_test: Event | None
    unrouted: list[UnroutedWaba] = field(default_factory=list)

    def app_for(self, app_pk: int) -> AppView | None:
        return next((a for a in self.apps if a.pk == app_pk), None)

    @property
    def own_apps(self) -> list[AppView]:
        return [a for a in self.apps if a.own]

    @property
    def handshake_at(self) -> datetime | None:
        seen = [a.last_verified_at for a in self.apps if a.last_verified_at]
        return max(seen) if seen else None

    @property
    def subscribed(self) -> list[Waba]:
        return [w for w in self.wabas if w.subscribed]

    @property
    def test_target(self) -> Waba | None:
        """The WABA a test event is sent for: the first one connected."""
        return min(self.wabas, key=lambda w: w.id) if self.wabas else None

    @property
    def verified(self) -> bool:
        """Meta verified the callback URL: a handshake was seen, or Meta's notifications arrive
        (Meta sends none to a URL it has not verified; a platform app's handshake may predate us)."""
        return self.handshake_at is not None or self.first_event

    @property
    def steps(self) -> dict[str, bool]:
        return {
            "app": bool(self.apps),
            "callback": self.verified,
            "handshake": self.verified,
            "waba": bool(self.wabas),
            "subscribe": bool(self.subscribed),
            "event": self.first_event,
        }

    @property
    def complete(self) -> bool:
        return all(self.steps.values())

    @property
    def current(self) -> str | None:
        """The first step not done yet (the one the page points at)."""
        return next((key for key, done in self.steps.items() if not done), None)


async def setup_of(session: AsyncSession, ctx: OrgContext, *, base_url: str) -> Setup:
    apps = await apps_reaching(session, ctx, base_url=base_url)
    usable = await meta_queries.usable_apps(session, org_id=ctx.org_id)
    own_pks = [a.pk for a in apps if a.own]
    wabas = await queries.wabas_of_org(session, ctx.org_id)
    return Setup(
        apps=apps,
        platform_apps=[a for a in usable if a.org_id is None],
        wabas=wabas,
        first_event=await events_queries.first_real_event_id(session, org_id=ctx.org_id) is not None,
        last_test=await events_queries.latest_test_event(session, org_id=ctx.org_id),
        unrouted=await webhooks_queries.unrouted_wabas(session, app_pks=own_pks) if own_pks else [],
    )
