"""Acknowledging warning and critical events: an owner or admin says "seen, handled" (who, when).

Info events need no acknowledgement; acknowledging twice keeps the first person and time. The
caller owns the transaction and has checked the role (``OrgContext.can_admin``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.events import queries
from app.events.models import Event
from app.events.parsed import Severity
from app.lib.timeutil import utcnow
from app.tenancy.context import OrgContext


class AcknowledgeError(ValueError):
    """Why an event cannot be acknowledged, in words."""


def needs_acknowledgement(event: Event) -> bool:
    return event.severity >= Severity.WARNING and event.acknowledged_at is None


async def acknowledge(session: AsyncSession, ctx: OrgContext, *, event_pk: int) -> Event | None:
    """The event, acknowledged by ``ctx.user`` now; None when the org has no such event."""
    event = await queries.event_of_org(session, org_id=ctx.org_id, event_pk=event_pk)
    if event is None:
        return None
    if event.severity < Severity.WARNING:
        raise AcknowledgeError("Only warning and critical events are acknowledged.")
    if event.acknowledged_at is None:
        event.acknowledged_at = utcnow()
        event.acknowledged_by_id = ctx.user.id
        await session.flush()
    return event
