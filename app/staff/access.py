"""Who may use /staff, and the reason-gated access to one org.

Everyone who is not active platform staff (anonymous visitors included) gets a plain 404 on every
/staff URL, so the console's existence is not advertised. A staff member opens an org by giving a
reason; the grant lives in the signed session cookie for ``GRANT_SECONDS`` and every view under it
writes an audit row in that org, with the reason.

The rule is one: staff access is read-only. An action that changes something (reprocessing a
delivery, retrying an alert) is the exception that asks for its own reason in its own form
(``action_reason``), and its audit row carries that reason beside the one the org was opened for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.audit import service as audit
from app.tenancy import queries as tenancy_queries
from app.tenancy.models import Organization, User
from app.tenancy.session import current_user

GRANT_SECONDS = 3600
SESSION_KEY = "staff_access"
MAX_REASON = 200


@dataclass(frozen=True)
class StaffOrgAccess:
    """A staff member inside one org, read-only, for a stated reason."""

    org: Organization
    user: User
    reason: str

    @property
    def org_id(self) -> int:
        return self.org.id


class ReasonRequired(Exception):
    """No (or an expired) grant for this org: the staff member must give a reason first."""

    def __init__(self, org: Organization) -> None:
        self.org = org


async def require_staff(request: Request, session: AsyncSession) -> User:
    user = await current_user(request, session)
    if user is None or not user.is_staff or not user.is_active:
        raise HTTPException(404)
    return user


async def staff_org(request: Request, session: AsyncSession) -> tuple[User, Organization]:
    user = await require_staff(request, session)
    org = await tenancy_queries.org_by_slug(session, request.path_params.get("org_slug", ""))
    if org is None:
        raise HTTPException(404)
    return user, org


def grant(request: Request, org: Organization, reason: str) -> None:
    grants = dict(request.session.get(SESSION_KEY) or {})
    now = int(time.time())
    grants = {slug: g for slug, g in grants.items() if g.get("until", 0) > now}
    grants[org.slug] = {"reason": reason, "until": now + GRANT_SECONDS}
    request.session[SESSION_KEY] = grants


def granted_reason(request: Request, org: Organization) -> str | None:
    found = (request.session.get(SESSION_KEY) or {}).get(org.slug)
    if not found or found.get("until", 0) <= int(time.time()):
        return None
    reason: str = found.get("reason", "")
    return reason or None


async def require_org_access(request: Request, session: AsyncSession) -> StaffOrgAccess:
    """Raises ReasonRequired when the staff member has not given a reason for this org yet."""
    user, org = await staff_org(request, session)
    reason = granted_reason(request, org)
    if reason is None:
        raise ReasonRequired(org)
    return StaffOrgAccess(org=org, user=user, reason=reason)


def to_reason_form(request: Request, exc: ReasonRequired) -> Response:
    target = request.url_for("staff:open", org_slug=exc.org.slug).include_query_params(next=request.url.path)
    return RedirectResponse(str(target), 303)


async def viewed(session: AsyncSession, grant: StaffOrgAccess, view: str, **details: object) -> None:
    """The audit row of one staff view in the org, with the reason it was opened for."""
    await audit.record(
        session,
        org_id=grant.org_id,
        actor=grant.user,
        action=audit.STAFF_VIEWED,
        target=view,
        details={"reason": grant.reason, **details},
    )


def clean_reason(text: str) -> str:
    reason = " ".join(text.split())
    if len(reason) < 3:
        raise ValueError("Give the reason for opening this org, such as a ticket reference.")
    if len(reason) > MAX_REASON:
        raise ValueError(f"Keep the reason under {MAX_REASON} characters.")
    return reason


class ActionRefused(Exception):
    """A state-changing staff action without a usable reason; the message says what to give."""


def action_reason(form: dict[str, str]) -> str:
    """The reason typed into a state-changing action's own form."""
    try:
        return clean_reason(form.get("reason", ""))
    except ValueError as exc:
        raise ActionRefused(
            "Changing something as staff needs its own reason (a ticket reference): nothing was done."
        ) from exc


ALERT_RETRIED = "staff.retried_alert"
