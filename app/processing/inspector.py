"""The delivery inspector's page, shared by an org's admins (``inspector_routes``) and staff
(``app.staff.inspector_routes``): both render ``ops/inspector.html`` from ``page_context``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.events.hooks import committed_hooks
from app.lib.timeutil import utcnow
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.processing.reprocess import NotReprocessable, reprocess_delivery
from app.wabas import queries as wabas_queries
from app.web.services import services
from app.webhooks import queries as webhooks_queries
from app.webhooks.models import DeliveryStatus

STATUSES = (
    DeliveryStatus.PENDING,
    DeliveryStatus.PROCESSED,
    DeliveryStatus.FAILED,
    DeliveryStatus.INVALID_JSON,
)


async def page_context(request: Request, session: AsyncSession, app: MetaApp) -> dict[str, Any]:
    now = utcnow()
    status = request.query_params.get("status", "")
    status = status if status in STATUSES else ""
    return {
        "app": app,
        "check": await webhooks_queries.checklist(
            session,
            app,
            subscriptions=await wabas_queries.subscription_counts(session, app_pk=app.id),
            now=now,
        ),
        "deliveries": await webhooks_queries.recent_deliveries(session, app, status=status or None),
        "unrouted": await webhooks_queries.unrouted_changes(session, app),
        "failures": await webhooks_queries.signature_failures_by_hour(session, app, now=now),
        "statuses": STATUSES,
        "status": status,
    }


async def reprocess(request: Request, app: MetaApp, delivery_id: int) -> str:
    """Reprocesses the delivery (which must be ``app``'s) and says what happened, in words."""
    svc = services(request)
    async with svc.db.read() as session:
        if await webhooks_queries.delivery_of_app(session, app, delivery_id) is None:
            raise HTTPException(404)
    try:
        done = await reprocess_delivery(
            Processor(svc.db, hooks=committed_hooks(request)), delivery_id=delivery_id
        )
    except NotReprocessable as exc:
        return str(exc)
    return (
        f"Delivery {delivery_id} reprocessed: {done.changes} changes ({done.new_changes} new), "
        f"{done.events_created} events created; status {done.status}."
    )
