"""The ASGI application.

Two apps behind one dispatcher: the Meta webhook receiver (the hot path, outside the session, CSRF
and page middleware) and the web app (pages, sign-in, static files).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from app.alerts.routes import routes as alerts_routes
from app.audit.routes import routes as audit_routes
from app.auth.oidc import OidcClient
from app.auth.routes import routes as auth_routes
from app.connections.routes import routes as wabas_connect_routes
from app.db.engine import Database, make_engine
from app.db.migrate import head_revision
from app.db.types import set_keyring
from app.events.routes import routes as events_routes
from app.graph.client import GraphClient
from app.lib.crypto import Keyring
from app.lib.passwords import PasswordHasherBox
from app.live.hub import hub_for
from app.live.publish import handshake_publisher
from app.live.routes import routes as live_routes
from app.mail.routes import routes as mail_routes
from app.mail.service import Mailer
from app.ops.routes import routes as ops_routes
from app.orgs.routes import routes as orgs_routes
from app.processing.inspector_routes import routes as inspector_routes
from app.retention.routes import routes as retention_routes
from app.settings import Settings, get_settings
from app.simulator.routes import routes as simulator_routes
from app.staff.routes import routes as staff_routes
from app.wabas import queries as wabas_queries
from app.wabas.apps_routes import routes as apps_routes
from app.wabas.choices import org_choices
from app.wabas.routes import routes as wabas_routes
from app.web.csrf import CSRFMiddleware
from app.web.errors import handlers as error_handlers
from app.web.logs import RequestIdMiddleware, configure_logging
from app.web.security import SecurityHeadersMiddleware
from app.web.services import Services
from app.webhooks.receiver import WebhookReceiver
from app.worker import InProcessWorkers, after_commit_hooks, runs_in_process

ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = ROOT / "static"
HTMX_DIST = ROOT / "node_modules" / "htmx.org" / "dist"

WEBHOOK_PREFIX = "/webhooks/"


async def _forward_wakeups(intake: asyncio.Event, workers: InProcessWorkers) -> None:
    """The receiver sets ``intake`` on this loop after each commit; the worker waits on its own."""
    while True:
        await intake.wait()
        intake.clear()
        workers.wake()


class MissingAssets(RuntimeError):
    pass


def build_services(settings: Settings) -> Services:
    settings.check_production()
    set_keyring(Keyring(settings.encryption_keys.get_secret_value()))
    db = Database(make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous))
    return Services(
        settings=settings,
        db=db,
        hasher=PasswordHasherBox(fast=settings.password_hash_fast),
        graph=GraphClient.from_settings(settings),
    )


def freeze_startup_objects() -> None:
    """What startup built (modules, routes, templates, mappers: ~150,000 objects) lives as long as
    the process, so the garbage collector stops looking at it: each full collection walked all of
    it, ~20 ms during which no request was answered, and ~5% of the receiver's time under load."""
    gc.collect()
    gc.freeze()


class Dispatcher:
    """Sends webhook paths straight to the receiver (which keeps its own request ids); everything
    else to the web app."""

    def __init__(self, web: Starlette, webhooks: ASGIApp) -> None:
        self.web = web
        self.webhooks = webhooks
        self.state = web.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(WEBHOOK_PREFIX):
            await self.webhooks(scope, receive, send)
        else:
            await self.web(scope, receive, send)


def create_app(settings: Settings | None = None) -> Dispatcher:
    settings = settings or get_settings()
    settings.check_production()
    configure_logging(settings.log_format)
    if not (HTMX_DIST / "htmx.min.js").exists():
        raise MissingAssets(f"{HTMX_DIST} is missing: run `npm ci --ignore-scripts` in {ROOT}")

    receiver = WebhookReceiver()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = build_services(settings)
        app.state.services = svc
        app.state.events_committed_hooks = after_commit_hooks(svc.db)
        app.state.waba_names = wabas_queries.waba_names  # see app.events.names
        app.state.org_directory = org_choices  # the timeline's pickers name WABAs and numbers
        app.state.mailer = Mailer(
            db=svc.db,
            smtp_url=settings.smtp_url.get_secret_value() if settings.smtp_url else None,
            sender=settings.mail_from,
        )
        app.state.oidc = OidcClient(settings) if settings.oidc_enabled else None
        receiver.on_handshake = handshake_publisher(svc.db)
        await receiver.start(svc)
        app.state.schema_head = head_revision(settings.database_url)
        # SQLite: the worker lives in this process (on a thread of its own), woken by the receiver
        # after each commit.
        workers = (
            InProcessWorkers(settings, svc.db, hooks=app.state.events_committed_hooks)
            if runs_in_process(settings, svc.db)
            else None
        )
        forwarding: asyncio.Task[None] | None = None
        if workers is not None:
            workers.start()
            forwarding = asyncio.create_task(_forward_wakeups(svc.intake_wakeup, workers))
        app.state.worker = workers.worker if workers is not None else None
        app.state.alert_worker = workers.alert_worker if workers is not None else None
        freeze_startup_objects()
        try:
            yield
        finally:
            await hub_for(svc.db).close()  # open event streams end here
            await receiver.stop()
            if forwarding is not None:
                forwarding.cancel()
            if workers is not None:
                await workers.close()
            await svc.graph.aclose()
            await svc.db.dispose()

    web = Starlette(
        debug=False,
        routes=[
            Mount("/static/vendor/htmx", app=StaticFiles(directory=HTMX_DIST), name="htmx"),
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
            *ops_routes,
            *auth_routes,
            *orgs_routes,
            *live_routes,  # before the events routes: /events/stream is not an event
            *events_routes,
            *wabas_connect_routes,
            *wabas_routes,
            *mail_routes,
            *apps_routes,
            *simulator_routes,
            *alerts_routes,
            *audit_routes,
            *staff_routes,
            *inspector_routes,
            *retention_routes,
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key.get_secret_value(),
                session_cookie="wabawatch_session",
                max_age=settings.session_max_age_seconds,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
            Middleware(CSRFMiddleware, base_url=settings.base_url),
        ],
        exception_handlers=error_handlers,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    return Dispatcher(web, receiver)


def __getattr__(name: str) -> Dispatcher:
    # `uvicorn app.main:app` builds the app on first access, after settings are loaded.
    if name == "app":
        built = create_app()
        globals()["app"] = built
        return built
    raise AttributeError(name)
