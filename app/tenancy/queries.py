"""Reads of organizations and memberships. Tenant-scoped reads take the org id explicitly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.tenancy.models import Invitation, Membership, Organization, Role, User


async def org_by_slug(session: AsyncSession, slug: str) -> Organization | None:
    result = await session.scalars(select(Organization).where(Organization.slug == slug))
    return result.first()


async def membership_of(session: AsyncSession, *, org_id: int, user_id: int) -> Membership | None:
    result = await session.scalars(
        select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    )
    return result.first()


async def orgs_of_user(session: AsyncSession, user_id: int) -> list[tuple[Organization, str]]:
    rows = await session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name)
    )
    return [(org, role) for org, role in rows]


async def members(session: AsyncSession, *, org_id: int) -> list[Membership]:
    result = await session.scalars(
        select(Membership)
        .where(Membership.org_id == org_id)
        .options(joinedload(Membership.user))
        .join(User, User.id == Membership.user_id)
        .order_by(User.email)
    )
    return list(result)


async def member_by_id(session: AsyncSession, *, org_id: int, membership_id: int) -> Membership | None:
    result = await session.scalars(
        select(Membership)
        .where(Membership.org_id == org_id, Membership.id == membership_id)
        .options(joinedload(Membership.user))
    )
    return result.first()


async def owner_count(session: AsyncSession, *, org_id: int) -> int:
    """Counts owners, locking their rows (PostgreSQL) so two demotions cannot both pass."""
    owners = await session.scalars(
        select(Membership.id)
        .where(Membership.org_id == org_id, Membership.role == Role.OWNER.value)
        .with_for_update()
    )
    return len(list(owners))


def pending_invitations_stmt(*, org_id: int, now: datetime) -> Select[Invitation]:
    return (
        select(Invitation)
        .where(
            Invitation.org_id == org_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.created_at.desc())
    )


async def pending_invitations(session: AsyncSession, *, org_id: int, now: datetime) -> list[Invitation]:
    return list(await session.scalars(pending_invitations_stmt(org_id=org_id, now=now)))


async def open_invitation_for(session: AsyncSession, *, org_id: int, email: str) -> Invitation | None:
    """The org's invitation for this (normalized) address that is neither accepted nor withdrawn,
    expired or not: there is at most one (``uq_invitations_open_email``)."""
    found: Invitation | None = await session.scalar(
        select(Invitation).where(
            Invitation.org_id == org_id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    return found


async def invitation_by_id(session: AsyncSession, *, org_id: int, invitation_id: int) -> Invitation | None:
    result = await session.scalars(
        select(Invitation).where(Invitation.org_id == org_id, Invitation.id == invitation_id)
    )
    return result.first()


async def invitation_by_digest(session: AsyncSession, digest: str) -> tuple[Invitation, Organization] | None:
    row = (
        await session.execute(
            select(Invitation, Organization)
            .join(Organization, Organization.id == Invitation.org_id)
            .where(Invitation.token_digest == digest)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.scalars(select(User).where(User.email == email.strip().lower()))
    return result.first()


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.scalar(select(Organization.id).where(Organization.slug == slug))) is not None


async def member_emails(session: AsyncSession, *, org_id: int, roles: Sequence[Role]) -> list[str]:
    """The addresses of the org's active members holding one of ``roles``, sorted (who is told when
    an alert channel is disabled, who an owners channel mails)."""
    stmt = (
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.org_id == org_id,
            Membership.role.in_([r.value for r in roles]),
            User.is_active.is_(True),
        )
        .order_by(User.email)
    )
    return [str(e) for e in await session.scalars(stmt)]


async def is_verified_member_email(session: AsyncSession, *, org_id: int, email: str) -> bool:
    """Whether a member of the org has verified ``email`` (compared with the address lower-cased,
    so pass it lower-case)."""
    stmt = (
        select(func.count())
        .select_from(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, func.lower(User.email) == email, User.email_verified.is_(True))
    )
    return int((await session.execute(stmt)).scalar_one()) > 0
