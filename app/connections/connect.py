"""Connecting a WABA with a pasted system-user token (the page and ``wabawatch waba connect``).

Two steps, so that no database transaction stays open during Graph calls:
``inspect`` checks the token with debug_token, reads the WABA and its numbers, and which business
owns our app (Graph only); ``store`` registers the WABA (or refreshes one the org registered
before), keeps the token encrypted with its metadata, and applies the sync (flushes, never commits).

An app that the WABA's business does not own gets none of its webhooks (app.connections.ownership).
``store`` refuses such a connection with ``SharedApp`` unless the admin accepted the warning; the
warning stays on the WABA (its ``app_owner`` state entry) and the audit log says it was accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete as delete_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.connections import subscriptions, sync
from app.connections.ownership import Ownership
from app.db.engine import Database
from app.events.models import Event
from app.graph.client import GraphClient
from app.graph.errors import GraphError
from app.graph.nodes import WABA_MANAGEMENT, TokenInfo
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.tenancy.models import Organization, User
from app.wabas import queries as wabas_queries
from app.wabas import service as wabas_service
from app.wabas.models import Waba
from app.webhooks.models import WebhookChange

WABA_CONNECTED = "waba.connected"
_WABA_ID = re.compile(r"^\d{1,64}$")
MAX_TOKEN = 2000


class ConnectError(Exception):
    """The WABA cannot be connected; the message says why and what to do, in words."""


class SharedApp(ConnectError):
    """The app is not owned by the WABA's business; connecting needs the admin's explicit consent."""


@dataclass(frozen=True)
class Inspection:
    waba_id: str
    token: TokenInfo
    snapshot: sync.Snapshot

    @property
    def warning(self) -> str | None:
        ownership = self.snapshot.ownership
        return ownership.warning if ownership is not None else None


@dataclass(frozen=True)
class Connected:
    waba: Waba
    routed: int
    phones: int
    new: bool
    warning: str | None = None
    unchecked: str | None = None


@dataclass(frozen=True)
class Choice:
    """A WABA the Facebook login granted, with the ownership warning the pick page shows beside it."""

    waba_id: str
    name: str
    warning: str | None = None


def clean_waba_id(value: str) -> str:
    waba_id = value.strip()
    if not _WABA_ID.match(waba_id):
        raise ConnectError(
            f"“{waba_id[:80]}” is not a WABA id: it is digits only (Business Settings → Accounts)."
        )
    return waba_id


async def inspect(graph: GraphClient, *, app: MetaApp, waba_id: str, token: str) -> Inspection:
    """Checks the token before anything is stored: valid, of this app, with whatsapp_business_management
    on this WABA; then reads the WABA and its phone numbers. Raises ConnectError in words."""
    waba_id = clean_waba_id(waba_id)
    token = token.strip()
    if not token or len(token) > MAX_TOKEN or any(c.isspace() for c in token):
        raise ConnectError("Paste the system user's access token (one line, no spaces).")
    try:
        info = await graph.debug_token(token, app_id=app.app_id, app_secret=app.app_secret)
        problem = info.problem_with(waba_id, app_id=app.app_id)
        if problem:
            raise ConnectError(problem)
        snapshot = await sync.fetch(graph, waba_id, token, app_id=app.app_id, app_secret=app.app_secret)
    except GraphError as exc:
        raise ConnectError(str(exc)) from exc
    return Inspection(waba_id=waba_id, token=info, snapshot=snapshot)


async def granted_wabas(graph: GraphClient, *, app: MetaApp, token: str) -> list[Choice]:
    """Each WABA the token was granted whatsapp_business_management on, as debug_token's granular
    scopes list them, with its name (empty when Graph will not give it) and the ownership warning."""
    try:
        info = await graph.debug_token(token, app_id=app.app_id, app_secret=app.app_secret)
    except GraphError as exc:
        raise ConnectError(str(exc)) from exc
    if not info.is_valid or WABA_MANAGEMENT not in info.scopes:
        raise ConnectError(info.problem_with("", app_id=app.app_id) or "The login granted no WABA.")
    if not info.waba_ids:
        raise ConnectError(
            "The login granted no WhatsApp Business Account: start again and tick at least one."
        )
    try:
        owner = await graph.get_app(app_id=app.app_id, app_secret=app.app_secret)
    except GraphError:
        owner = None  # each WABA is checked again when it is connected
    found: list[Choice] = []
    for waba_id in info.waba_ids[:20]:
        try:
            waba = await graph.get_waba(waba_id, token)
        except GraphError:
            found.append(Choice(waba_id, ""))
            continue
        warning = None
        if owner is not None:
            warning = Ownership(
                app.app_id,
                owner.business_id,
                owner.business_name,
                waba_id,
                waba.owner_business_id,
                waba.owner_business_name,
            ).warning
        found.append(Choice(waba_id, waba.name, warning))
    return found


async def store(
    session: AsyncSession,
    *,
    org: Organization,
    app: MetaApp,
    inspection: Inspection,
    token: str,
    actor: User | None,
    accept_shared_app: bool = False,
) -> Connected:
    """Registers the WABA for ``org`` (routing its earlier unrouted changes) or, when the org has it
    already through this app, replaces its token and connects it again; then applies the sync.
    Raises SharedApp when the app is not owned by the WABA's business and ``accept_shared_app`` is false."""
    existing = await wabas_queries.waba_for_routing(session, app_pk=app.id, waba_id=inspection.waba_id)
    if existing is not None and existing.org_id != org.id:
        raise ConnectError(
            f"WABA {inspection.waba_id} is already connected by another organization through app {app.app_id}."
        )
    if inspection.warning and not accept_shared_app:
        raise SharedApp(inspection.warning)
    routed, new = 0, existing is None
    if existing is None:
        try:
            waba, routed = await wabas_service.register_waba(
                session, org=org, app=app, waba_id=inspection.waba_id, name=inspection.snapshot.waba.name
            )
        except wabas_service.WabaError as exc:
            raise ConnectError(str(exc)) from exc
    else:
        waba = existing
    now = utcnow()
    waba.access_token = token.strip()
    waba.token_checked_at = now
    waba.token_expires_at = inspection.token.expires_at
    waba.token_scopes = list(inspection.token.scopes)
    waba.connected_at = now
    waba.disconnected_at = None
    result = await sync.apply_snapshot(session, waba, inspection.snapshot, now=now)
    details: dict[str, object] = {
        "app_id": app.app_id,
        "phones": result.phones,
        "routed_changes": routed,
        "new": new,
    }
    ownership = inspection.snapshot.ownership
    if ownership is not None:
        details["app_business_id"] = ownership.app_business_id or None
        details["app_owned_by_waba_business"] = not ownership.shared
    if inspection.warning:
        details["accepted_warning"] = inspection.warning
    await audit.record(
        session,
        org_id=org.id,
        actor=actor,
        action=WABA_CONNECTED,
        target=f"WABA {waba.waba_id}",
        details=details,
    )
    return Connected(
        waba=waba,
        routed=routed,
        phones=result.phones,
        new=new,
        warning=inspection.warning,
        unchecked=inspection.snapshot.ownership_error,
    )


WABA_DISCONNECTED = "waba.disconnected"
WABA_DELETED = "waba.deleted"


class LifecycleError(Exception):
    """Disconnect or delete refused; the message says why."""


async def disconnect(
    db: Database, graph: GraphClient, *, org_id: int, waba_pk: int, actor: User | None, unsubscribe: bool
) -> str:
    """Stops syncing and forgets the token; events, numbers and state stay. With ``unsubscribe`` the
    app is unsubscribed first, and a refusal from Meta stops the disconnect (nothing changes)."""
    if unsubscribe:
        outcome = await subscriptions.toggle(
            db, graph, org_id=org_id, waba_pk=waba_pk, subscribe=False, actor=actor
        )
        if not outcome.ok:
            raise LifecycleError(f"Not disconnected: {outcome.message}")
    async with db.transaction() as session:
        waba = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
        if waba is None:
            raise LifecycleError("No such WABA.")
        waba.access_token = None
        waba.disconnected_at = utcnow()
        await audit.record(
            session,
            org_id=org_id,
            actor=actor,
            action=WABA_DISCONNECTED,
            target=f"WABA {waba.waba_id}",
            details={"unsubscribed": unsubscribe},
        )
        waba_id = waba.waba_id
    also = " and unsubscribed" if unsubscribe else ""
    return f"WABA {waba_id} is disconnected{also}: its history stays, and nothing is synced any more."


async def delete(
    session: AsyncSession, *, org_id: int, waba_pk: int, actor: User | None, confirm: str
) -> str:
    """Deletes the WABA, its numbers, state and events (and the org's webhook changes behind them),
    once ``confirm`` is its WABA id. The raw deliveries stay until retention purges them."""
    waba = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
    if waba is None:
        raise LifecycleError("No such WABA.")
    if confirm.strip() != waba.waba_id:
        raise LifecycleError(f"Not deleted: type the WABA id {waba.waba_id} to confirm.")
    waba_id = waba.waba_id
    await session.execute(delete_(Event).where(Event.org_id == org_id, Event.waba_pk == waba.id))
    await session.execute(
        delete_(WebhookChange).where(
            WebhookChange.org_id == org_id,
            WebhookChange.app_pk == waba.app_pk,
            WebhookChange.waba_id == waba_id,
        )
    )
    await session.delete(waba)
    await audit.record(session, org_id=org_id, actor=actor, action=WABA_DELETED, target=f"WABA {waba_id}")
    return f"WABA {waba_id} and its events are deleted."
