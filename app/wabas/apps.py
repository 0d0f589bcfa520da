"""The Meta apps whose webhooks reach an org: its own, and the ones (the platform's, usually)
through which its WABAs are connected. Composed here, above meta and webhooks, because "reaches
the org" is a fact about the org's WABAs.

An app the org does not own is shown read-only: its callback URL, when Meta last verified it, and
when a change for the org last arrived through it, never its verify token, its signature failures or
anyone else's traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.meta import queries as meta_queries
from app.meta.service import callback_url
from app.tenancy.context import OrgContext
from app.wabas import queries
from app.webhooks import queries as webhooks_queries


@dataclass(frozen=True)
class AppView:
    """What a page may show of an app: the secret is only ever "set"."""

    pk: int
    app_id: str
    name: str
    own: bool  # registered by this org (else read-only)
    platform: bool
    callback_url: str
    verify_token: str | None  # the org's own apps, for owners and admins only
    login_config_id: str | None
    last_verified_at: datetime | None
    last_delivery_at: datetime | None  # own: any delivery; else the newest change routed to the org
    signature_failures: int | None  # own apps only
    last_signature_failure_at: datetime | None
    wabas: int  # the org's WABAs connected through it

    @property
    def label(self) -> str:
        return self.name or f"app {self.app_id}"


async def apps_reaching(session: AsyncSession, ctx: OrgContext, *, base_url: str) -> list[AppView]:
    """Own apps first, then the others, each with what the org may see of it."""
    routed = await queries.app_pks_of_org(session, org_id=ctx.org_id)
    apps = await meta_queries.apps_reaching_org(session, org_id=ctx.org_id, routed_app_pks=routed)
    own_pks = [a.id for a in apps if a.org_id == ctx.org_id]
    delivered = await webhooks_queries.last_delivery_of_apps(session, app_pks=own_pks)
    routed_at = await webhooks_queries.last_routed_to_org(
        session, org_id=ctx.org_id, app_pks=[a.id for a in apps if a.org_id != ctx.org_id]
    )
    views = []
    for app in apps:
        own = app.org_id == ctx.org_id
        views.append(
            AppView(
                pk=app.id,
                app_id=app.app_id,
                name=app.name,
                own=own,
                platform=app.org_id is None,
                callback_url=callback_url(base_url, app.app_id),
                verify_token=app.verify_token if own and ctx.can_admin else None,
                login_config_id=app.login_config_id,
                last_verified_at=app.last_verified_at,
                last_delivery_at=delivered.get(app.id) if own else routed_at.get(app.id),
                signature_failures=app.signature_failures if own else None,
                last_signature_failure_at=app.last_signature_failure_at if own else None,
                wabas=routed.get(app.id, 0),
            )
        )
    return views
