"""Writing the audit log. ``record`` only adds a row to the caller's session: the entry commits or
rolls back with the change it describes, so the log never claims a change that did not happen."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.tenancy import queries as tenancy_queries
from app.tenancy.models import User

MAX_TARGET = 300

# Actions written so far; others (WABA connect, subscriptions, alerts) use the same function.
SIGNED_IN = "auth.signed_in"
MEMBER_ADDED = "membership.added"
MEMBER_REMOVED = "membership.removed"
ROLE_CHANGED = "membership.role_changed"
INVITED = "invitation.created"
INVITATION_REVOKED = "invitation.revoked"
APP_ADDED = "meta_app.added"
APP_CHANGED = "meta_app.changed"
STAFF_OPENED = "staff.opened_org"
STAFF_VIEWED = "staff.viewed"
STAFF_SEARCHED = "staff.searched"
DELIVERY_REPROCESSED = "delivery.reprocessed"
RETENTION_CHANGED = "retention.changed"


async def record(
    session: AsyncSession,
    *,
    org_id: int | None,
    actor: User | None,
    action: str,
    target: str = "",
    details: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Adds one entry to ``session`` (flushed, never committed). ``details`` must be JSON values
    and must never hold a secret: owners read them."""
    entry = AuditEntry(
        org_id=org_id,
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else "",
        actor_is_staff=bool(actor.is_staff) if actor is not None else False,
        action=action[:64],
        target=target[:MAX_TARGET],
        details=dict(details or {}),
    )
    session.add(entry)
    await session.flush()
    return entry


async def record_sign_in(session: AsyncSession, *, user: User, method: str) -> None:
    """One entry in each org of the user (their owners see who signed in), or one without an org."""
    orgs = await tenancy_queries.orgs_of_user(session, user.id)
    org_ids: list[int | None] = [org.id for org, _role in orgs]
    for org_id in org_ids or [None]:
        await record(session, org_id=org_id, actor=user, action=SIGNED_IN, details={"method": method})
