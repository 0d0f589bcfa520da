"""The one way to get at an org's data: ``require_member`` produces the ``OrgContext``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.tenancy import queries
from app.tenancy.models import Organization, Role, User
from app.tenancy.session import require_user


@dataclass(frozen=True)
class OrgContext:
    org: Organization
    user: User
    role: Role

    @property
    def org_id(self) -> int:
        return self.org.id

    @property
    def can_admin(self) -> bool:
        return self.role.at_least(Role.ADMIN)


@dataclass(frozen=True)
class OrgRef:
    """An org as pages show it (nav, switcher). Plain values that survive a rolled-back transaction."""

    id: int
    name: str
    slug: str

    @classmethod
    def of(cls, org: Organization) -> OrgRef:
        return cls(id=org.id, name=org.name, slug=org.slug)


class RoleRequired(HTTPException):
    def __init__(self, role: Role) -> None:
        super().__init__(403, f"This needs the {role.value} role in this organization.")


async def _signed_in(request: Request, session: AsyncSession) -> tuple[User, list[tuple[Organization, str]]]:
    """The signed-in user and every org of theirs with their role, the switcher's list set on the page."""
    user = await require_user(request, session)
    memberships = await queries.orgs_of_user(session, user.id)
    request.state.user_orgs = [(OrgRef.of(org), role) for org, role in memberships]
    return user, memberships


async def require_signed_in(request: Request, session: AsyncSession) -> User:
    """A signed-in user, with the org switcher's list loaded for the page."""
    user, _ = await _signed_in(request, session)
    return user


async def require_member(request: Request, session: AsyncSession, *, role: Role = Role.VIEWER) -> OrgContext:
    """Signed-in member of the org in the URL with at least ``role``; anyone else sees a 404.

    The org and the role come from the switcher's list (the user's memberships, already read for
    the page), so checking membership costs no query of its own."""
    user, memberships = await _signed_in(request, session)
    slug = request.path_params.get("org_slug", "")
    found = next(((org, role) for org, role in memberships if org.slug == slug), None)
    if found is None:
        raise HTTPException(404)
    org, member_role = found[0], Role(found[1])
    request.state.org = OrgRef.of(org)
    request.state.role = member_role
    request.session["org"] = org.slug
    if not member_role.at_least(role):
        raise RoleRequired(role)
    return OrgContext(org=org, user=user, role=member_role)
