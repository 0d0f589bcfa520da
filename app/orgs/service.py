"""Rules for organizations, memberships and invitations, and sign-up (an account with a new org).
Every new org starts with the alerts domain's default rule. Services flush; callers commit."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import service as alerts_service
from app.audit import service as audit
from app.auth import service as auth_service
from app.lib.crypto import new_token, token_digest
from app.lib.passwords import PasswordHasherBox
from app.lib.timeutil import utcnow
from app.tenancy import queries
from app.tenancy.context import OrgContext
from app.tenancy.models import Invitation, Membership, Organization, Role, User

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
RESERVED_SLUGS = frozenset({"new", "admin", "staff", "static", "api", "login", "logout", "signup"})


class TenancyError(ValueError):
    """A rule was broken; the message is meant for the person who asked."""


class NotAllowed(TenancyError):
    """The person's role does not allow this at all (answered with 403, not a toast)."""


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48].strip("-")
    return slug or "org"


async def unique_slug(session: AsyncSession, name: str) -> str:
    base = slugify(name)
    if base in RESERVED_SLUGS:
        base = f"{base}-org"
    candidate, n = base, 1
    while await queries.slug_taken(session, candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


async def create_org(
    session: AsyncSession, *, name: str, owner: User, slug: str | None = None
) -> Organization:
    name = name.strip()
    if not name:
        raise TenancyError("Give the organization a name.")
    if len(name) > 200:
        raise TenancyError("That name is too long (200 characters at most).")
    if slug is None:
        slug = await unique_slug(session, name)
    elif not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        raise TenancyError("A URL name uses lowercase letters, digits and dashes (at most 64).")
    elif await queries.slug_taken(session, slug):
        raise TenancyError(f"The URL name {slug!r} is taken.")
    org = Organization(name=name, slug=slug)
    session.add(org)
    await session.flush()
    session.add(Membership(org_id=org.id, user_id=owner.id, role=Role.OWNER.value))
    await session.flush()
    await alerts_service.create_default_rule(session, org_id=org.id)
    return org


async def sign_up(
    session: AsyncSession,
    hasher: PasswordHasherBox,
    *,
    email: str,
    password: str,
    org_name: str,
    name: str = "",
) -> tuple[User, Organization]:
    if not org_name.strip():
        raise auth_service.AuthError("Name your organization (you can change it later).")
    user = await auth_service.create_user(session, hasher, email=email, password=password, name=name)
    org = await create_org(session, name=org_name, owner=user)
    return user, org


async def add_member(session: AsyncSession, *, org: Organization, user: User, role: Role) -> Membership:
    existing = await queries.membership_of(session, org_id=org.id, user_id=user.id)
    if existing is not None:
        # Never demote someone by accepting an invitation for a lower role.
        if Role(role).rank > Role(existing.role).rank:
            existing.role = role.value
        return existing
    membership = Membership(org_id=org.id, user_id=user.id, role=role.value)
    session.add(membership)
    await session.flush()
    return membership


async def rename_org(session: AsyncSession, ctx: OrgContext, *, name: str) -> None:
    _require_admin(ctx)
    name = name.strip()
    if not name or len(name) > 200:
        raise TenancyError("Give the organization a name of at most 200 characters.")
    ctx.org.name = name
    await session.flush()


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    token: str
    renewed: bool = False  # the address had a pending invitation: it got a new link instead


async def invite(
    session: AsyncSession, ctx: OrgContext, *, email: str, role: Role, max_age: timedelta
) -> NewInvitation:
    _require_admin(ctx)
    email = auth_service.normalize_email(email)
    if "@" not in email or len(email) > 320:
        raise TenancyError("Enter a valid email address.")
    if role == Role.OWNER and ctx.role != Role.OWNER:
        raise TenancyError("Only an owner can invite another owner.")
    existing_user = await queries.user_by_email(session, email)
    if existing_user is not None and await queries.membership_of(
        session, org_id=ctx.org_id, user_id=existing_user.id
    ):
        raise TenancyError(f"{email} is already a member.")
    token = new_token()
    now = utcnow()
    # One open invitation per address: inviting again renews it (a new link, role and expiry; the
    # old link stops working) instead of leaving two links that both let the person in.
    invitation = await queries.open_invitation_for(session, org_id=ctx.org_id, email=email)
    renewed = invitation is not None
    if invitation is None:
        invitation = Invitation(org_id=ctx.org_id, email=email)
        session.add(invitation)
    invitation.role = role.value
    invitation.token_digest = token_digest(token)
    invitation.invited_by_id = ctx.user.id
    invitation.expires_at = now + max_age
    await session.flush()
    await audit.record(
        session,
        org_id=ctx.org_id,
        actor=ctx.user,
        action=audit.INVITED,
        target=email,
        details={"role": role.value, **({"renewed": True} if renewed else {})},
    )
    return NewInvitation(invitation=invitation, token=token, renewed=renewed)


async def revoke_invitation(
    session: AsyncSession, ctx: OrgContext, *, invitation_id: int
) -> Invitation | None:
    _require_admin(ctx)
    invitation = await queries.invitation_by_id(session, org_id=ctx.org_id, invitation_id=invitation_id)
    if invitation is not None and invitation.accepted_at is None:
        invitation.revoked_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            org_id=ctx.org_id,
            actor=ctx.user,
            action=audit.INVITATION_REVOKED,
            target=invitation.email,
        )
    return invitation


async def usable_invitation(session: AsyncSession, token: str) -> tuple[Invitation, Organization]:
    found = await queries.invitation_by_digest(session, token_digest(token))
    if found is None or found[0].revoked_at is not None:
        raise TenancyError("This invitation link is not valid. Ask for a new one.")
    invitation, org = found
    if invitation.accepted_at is not None:
        raise TenancyError("This invitation has already been used.")
    if invitation.expires_at <= utcnow():
        raise TenancyError("This invitation has expired. Ask an admin of the organization for a new one.")
    return invitation, org


async def accept_invitation(session: AsyncSession, *, token: str, user: User) -> Organization:
    invitation, org = await usable_invitation(session, token)
    await add_member(session, org=org, user=user, role=Role(invitation.role))
    invitation.accepted_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        org_id=org.id,
        actor=user,
        action=audit.MEMBER_ADDED,
        target=user.email,
        details={"role": invitation.role, "via": "invitation"},
    )
    return org


async def change_role(
    session: AsyncSession, ctx: OrgContext, *, membership_id: int, role: Role
) -> Membership:
    _require_admin(ctx)
    membership = await _member_or_404(session, ctx, membership_id)
    current = Role(membership.role)
    if (current == Role.OWNER or role == Role.OWNER) and ctx.role != Role.OWNER:
        raise TenancyError("Only an owner can grant or take away the owner role.")
    if current == Role.OWNER and role != Role.OWNER:
        await _keep_an_owner(session, ctx)
    membership.role = role.value
    await session.flush()
    if current != role:
        member = await session.get(User, membership.user_id)
        await audit.record(
            session,
            org_id=ctx.org_id,
            actor=ctx.user,
            action=audit.ROLE_CHANGED,
            target=member.email if member is not None else f"user {membership.user_id}",
            details={"from": current.value, "to": role.value},
        )
    return membership


async def remove_member(session: AsyncSession, ctx: OrgContext, *, membership_id: int) -> Membership:
    membership = await _member_or_404(session, ctx, membership_id)
    leaving_self = membership.user_id == ctx.user.id
    if not leaving_self:
        _require_admin(ctx)
        if Role(membership.role) == Role.OWNER and ctx.role != Role.OWNER:
            raise TenancyError("Only an owner can remove an owner.")
    if Role(membership.role) == Role.OWNER:
        await _keep_an_owner(session, ctx)
    member = await session.get(User, membership.user_id)
    await session.delete(membership)
    await session.flush()
    await audit.record(
        session,
        org_id=ctx.org_id,
        actor=ctx.user,
        action=audit.MEMBER_REMOVED,
        target=member.email if member is not None else f"user {membership.user_id}",
        details={"role": membership.role, "left": leaving_self},
    )
    return membership


class MemberNotFound(LookupError):
    pass


async def _member_or_404(session: AsyncSession, ctx: OrgContext, membership_id: int) -> Membership:
    membership = await queries.member_by_id(session, org_id=ctx.org_id, membership_id=membership_id)
    if membership is None:
        raise MemberNotFound(membership_id)
    return membership


async def _keep_an_owner(session: AsyncSession, ctx: OrgContext) -> None:
    if await queries.owner_count(session, org_id=ctx.org_id) <= 1:
        raise TenancyError("An organization must keep at least one owner. Make someone else an owner first.")


def _require_admin(ctx: OrgContext) -> None:
    if not ctx.can_admin:
        raise NotAllowed("Only owners and admins can do this.")
