"""Our app's webhook subscription on a WABA: read (GET subscribed_apps), subscribe (POST, with an
optional override callback URL and verify token) and unsubscribe (DELETE), for the panel and the CLI.

Each function owns its transactions, the way a task does, because the Graph call in the middle
must not hold one open: read the token, call Graph, then record what happened. Every toggle,
succeeded or refused, is kept in subscription_changes (who, when, what, Meta's answer in words)
and in the audit log; the latest rate-limit usage is kept per WABA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.connections import queries as graph_queries
from app.connections.graph_state import known_subscribed_apps, ownership_warning, remember_subscription
from app.connections.models import SubscriptionAction, SubscriptionChange, WabaUsage
from app.connections.sync import NotConnected, save_usage, share_hold_back
from app.db.engine import Database
from app.graph.client import GraphClient
from app.graph.errors import GraphError
from app.graph.nodes import SubscribedApp
from app.lib.timeutil import utcnow
from app.meta import queries as meta_queries
from app.tenancy.models import User
from app.wabas import queries as wabas_queries
from app.wabas import silence
from app.wabas.models import Waba

SUBSCRIBED = "waba.subscribed"
UNSUBSCRIBED = "waba.unsubscribed"
COMMAND_LINE = "command line"
MAX_OVERRIDE = 200


class SubscriptionError(ValueError):
    """The request itself is wrong (before any Graph call); the message says why."""


@dataclass(frozen=True)
class AppRow:
    app_id: str
    name: str
    override_callback_uri: str | None
    ours: bool


@dataclass
class Status:
    """What the panel and ``waba status`` show."""

    waba: Waba
    our_app_id: str
    apps: list[AppRow] | None  # as Meta listed them at ``checked_at``; None: no list is known
    error: str | None = None
    usage: WabaUsage | None = None
    changes: list[SubscriptionChange] = field(default_factory=list)
    silent_for: timedelta | None = None  # verified but silent (app.wabas.silence)
    ownership_warning: str | None = None  # our app is not owned by the WABA's business

    @property
    def checked_at(self) -> datetime | None:
        return self.waba.subscription_checked_at

    @property
    def subscribed(self) -> bool | None:
        if self.apps is None:
            return self.waba.subscribed
        return any(row.ours for row in self.apps)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    status: Status


def _rows(apps: list[SubscribedApp], our_app_id: str) -> list[AppRow]:
    return [AppRow(a.app_id, a.name, a.override_callback_uri, a.app_id == our_app_id) for a in apps]


async def _token(db: Database, graph: GraphClient, *, org_id: int, waba_pk: int) -> tuple[str, str, str]:
    """(WABA id, token, our app id), or NotConnected / LookupError (no such WABA in this org).
    A hold-back another process recorded for the WABA applies here too."""
    async with db.read() as session:
        waba = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
        if waba is None:
            raise LookupError(waba_pk)
        if not waba.access_token:
            raise NotConnected(
                f"WABA {waba.waba_id} has no access token: connect it with a system-user token first."
            )
        app = await meta_queries.app_by_pk(session, waba.app_pk)
        usage = await graph_queries.usage_of(session, org_id=org_id, waba_pk=waba_pk)
        share_hold_back(graph, waba.waba_id, usage)
        return waba.waba_id, waba.access_token, app.app_id


async def read_status(db: Database, graph: GraphClient, *, org_id: int, waba_pk: int) -> Status:
    """Asks Graph which apps are subscribed (a failure becomes ``error``, in words) and records it."""
    waba_id, token, our_app_id = await _token(db, graph, org_id=org_id, waba_pk=waba_pk)
    apps: list[SubscribedApp] | None = None
    error = None
    try:
        apps = await graph.list_subscribed_apps(waba_id, token)
    except GraphError as exc:
        error = str(exc)
    return await _record(
        db, graph, org_id=org_id, waba_pk=waba_pk, our_app_id=our_app_id, apps=apps, error=error
    )


async def toggle(
    db: Database,
    graph: GraphClient,
    *,
    org_id: int,
    waba_pk: int,
    subscribe: bool,
    actor: User | None,
    override_callback_uri: str = "",
    verify_token: str = "",
) -> Outcome:
    """POSTs or DELETEs our subscription, records who did it and Meta's answer, then reads the list
    again so that the panel shows Meta's view rather than a guess."""
    override = override_callback_uri.strip() if subscribe else ""
    verify = verify_token.strip() if subscribe else ""
    if override and (not override.startswith("https://") or len(override) > MAX_OVERRIDE):
        raise SubscriptionError(
            f"The override callback URL must be an https:// URL of at most {MAX_OVERRIDE} characters."
        )
    if bool(override) != bool(verify):
        raise SubscriptionError(
            "An override callback URL needs a verify token, and a verify token needs the URL."
        )
    waba_id, token, our_app_id = await _token(db, graph, org_id=org_id, waba_pk=waba_pk)
    error = None
    try:
        if subscribe:
            await graph.subscribe_app(
                waba_id, token, override_callback_uri=override or None, verify_token=verify or None
            )
        else:
            await graph.unsubscribe_app(waba_id, token)
    except GraphError as exc:
        error = str(exc)
    action = SubscriptionAction.SUBSCRIBE if subscribe else SubscriptionAction.UNSUBSCRIBE
    async with db.transaction() as session:
        waba = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
        if waba is None:
            raise LookupError(waba_pk)
        session.add(
            SubscriptionChange(
                org_id=org_id,
                waba_pk=waba_pk,
                user_id=actor.id if actor is not None else None,
                actor=actor.email if actor is not None else COMMAND_LINE,
                action=action,
                override_callback_uri=override or None,
                ok=error is None,
                error=error,
            )
        )
        if error is None:
            await remember_subscription(session, waba, subscribed=subscribe)
            if subscribe:
                waba.subscribed_at = utcnow()  # a silence counts from here (app.wabas.silence)
        await audit.record(
            session,
            org_id=org_id,
            actor=actor,
            action=SUBSCRIBED if subscribe else UNSUBSCRIBED,
            target=f"WABA {waba_id}",
            details={"ok": error is None, "error": error, "override_callback_uri": override or None},
        )
    if error is not None:
        status = await _record(
            db, graph, org_id=org_id, waba_pk=waba_pk, our_app_id=our_app_id, apps=None, error=None
        )
        return Outcome(False, error, status)
    status = await read_status(db, graph, org_id=org_id, waba_pk=waba_pk)
    done = (
        f"Subscribed app {our_app_id} to WABA {waba_id}'s webhooks"
        + (f" with the override callback {override}" if override else "")
        if subscribe
        else f"Unsubscribed app {our_app_id} from WABA {waba_id}'s webhooks"
    )
    return Outcome(True, done + ".", status)


async def _record(
    db: Database,
    graph: GraphClient,
    *,
    org_id: int,
    waba_pk: int,
    our_app_id: str,
    apps: list[SubscribedApp] | None,
    error: str | None,
) -> Status:
    async with db.transaction() as session:
        waba = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
        if waba is None:
            raise LookupError(waba_pk)
        if apps is not None:
            await remember_subscription(session, waba, apps=apps, our_app_id=our_app_id)
        latest = graph.usage.latest(waba.waba_id)
        if latest is not None:
            await save_usage(session, waba, latest)
        return await _known(session, waba, our_app_id, error=error)


async def _known(session: AsyncSession, waba: Waba, our_app_id: str, *, error: str | None = None) -> Status:
    known = await known_subscribed_apps(session, waba)
    changes = await graph_queries.subscription_changes(session, org_id=waba.org_id, waba_pk=waba.id)
    status = Status(
        waba=waba,
        our_app_id=our_app_id,
        apps=_rows(known, our_app_id) if known is not None else None,
        error=error,
        usage=await graph_queries.usage_of(session, org_id=waba.org_id, waba_pk=waba.id),
        changes=changes,
        ownership_warning=await ownership_warning(session, waba),
    )
    status.silent_for = silence.silent_for(waba, utcnow())
    return status


async def known_status(session: AsyncSession, *, org_id: int, waba_pk: int) -> Status:
    """What was last learnt from Meta (by a connect, a refresh, the hourly sync or a toggle),
    without calling Graph: what the connection page shows."""
    waba = await wabas_queries.waba_by_pk(session, org_id=org_id, waba_pk=waba_pk)
    if waba is None:
        raise LookupError(waba_pk)
    app = await meta_queries.app_by_pk(session, waba.app_pk)
    return await _known(session, waba, app.app_id)


def describe(status: Status) -> list[str]:
    """``waba status``'s lines: our state, every subscribed app (ours marked) and the latest usage."""
    state = {None: "not known", True: "subscribed", False: "not subscribed"}[status.subscribed]
    lines = [f"WABA {status.waba.waba_id}: our app {status.our_app_id} is {state}"]
    for row in status.apps or []:
        mark = "* " if row.ours else "  "
        override = f" -> {row.override_callback_uri}" if row.override_callback_uri else ""
        lines.append(f"{mark}{row.app_id} {row.name}{override}")
    if status.apps == []:
        lines.append("  (no app is subscribed)")
    if status.usage is not None:
        held = f", held back until {status.usage.held_until:%H:%M} UTC" if status.usage.held_until else ""
        lines.append(f"rate limit: {status.usage.peak}% of the hourly Graph calls used{held}")
    else:
        lines.append("rate limit: no usage reported yet")
    if status.ownership_warning:
        lines.append(f"warning: {status.ownership_warning}")
    if status.silent_for is not None:
        lines.append(f"warning: subscribed, but no event for {silence.hours(status.silent_for)} hours")
    return lines
