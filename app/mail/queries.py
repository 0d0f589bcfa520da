"""Reads of the development outbox."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.mail.models import DevMail


async def outbox(session: AsyncSession, *, recipient: str | None, limit: int = 100) -> list[DevMail]:
    """The newest kept mail addressed to ``recipient`` (any case), or to anyone when None (staff)."""
    stmt = select(DevMail).order_by(DevMail.id.desc()).limit(limit)
    if recipient is not None:
        stmt = stmt.where(func.lower(DevMail.recipient) == recipient.lower())
    return list(await session.scalars(stmt))
