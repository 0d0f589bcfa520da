"""Reads of the audit log, always scoped to one org."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None  # an exact action, or a prefix ending in "." ("membership.")
    actor: str | None = None  # part of the actor's email
    since: datetime | None = None
    until: datetime | None = None


def _scoped(org_id: int, where: AuditFilter) -> Select[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.org_id == org_id)
    if where.action:
        if where.action.endswith("."):
            stmt = stmt.where(AuditEntry.action.startswith(where.action, autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == where.action)
    if where.actor:
        stmt = stmt.where(AuditEntry.actor_email.contains(where.actor.lower(), autoescape=True))
    if where.since is not None:
        stmt = stmt.where(AuditEntry.created_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(AuditEntry.created_at < where.until)
    return stmt


async def entries(
    session: AsyncSession,
    *,
    org_id: int,
    where: AuditFilter,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first. Entries are only ever appended with the current time, so id order is time
    order and a plain id is the cursor."""
    stmt = _scoped(org_id, where)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    stmt = stmt.order_by(AuditEntry.id.desc()).limit(limit)
    return list(await session.scalars(stmt))


async def actions_of_org(session: AsyncSession, *, org_id: int) -> list[str]:
    stmt = select(AuditEntry.action).where(AuditEntry.org_id == org_id).distinct().order_by(AuditEntry.action)
    return list(await session.scalars(stmt))
