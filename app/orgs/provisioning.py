"""Users and orgs made by a script rather than a page: ``wabawatch user create`` and the demo's seed."""

from __future__ import annotations

from app.auth import service as auth_service
from app.db.engine import Database
from app.lib.passwords import PasswordHasherBox
from app.orgs import service as orgs
from app.tenancy import queries as tenancy_queries
from app.tenancy.models import Role, User


async def ensure_user_in_org(
    db: Database,
    hasher: PasswordHasherBox,
    *,
    email: str,
    org_slug: str,
    role: Role,
    staff: bool,
    password: str,
) -> tuple[User, bool]:
    """Creates the user (and the org when it is new); returns the user and whether it was created."""
    async with db.transaction() as session:
        org = await tenancy_queries.org_by_slug(session, org_slug)
        if org is None and role != Role.OWNER:
            # An org nobody owns could never get an owner through the web pages.
            raise orgs.TenancyError(
                f"There is no org {org_slug!r} yet; its first member must be its owner (--role owner)."
            )
        user = await tenancy_queries.user_by_email(session, email)
        created = user is None
        if user is None:
            user = await auth_service.create_user(
                session, hasher, email=email, password=password, is_staff=staff, email_verified=True
            )
        elif staff:
            user.is_staff = True
        if org is None:
            await orgs.create_org(session, name=org_slug, owner=user, slug=org_slug)
        else:
            membership = await tenancy_queries.membership_of(session, org_id=org.id, user_id=user.id)
            if membership is None:
                await orgs.add_member(session, org=org, user=user, role=role)
            else:
                demoting = membership.role == Role.OWNER.value and role != Role.OWNER
                if demoting and await tenancy_queries.owner_count(session, org_id=org.id) <= 1:
                    raise orgs.TenancyError(
                        f"{email} is the last owner of {org_slug}; make another owner first."
                    )
                membership.role = role.value
    return user, created
