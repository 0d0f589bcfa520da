"""Server-side records of signed-in browsers (``user_sessions``): one per sign-in. Signing out revokes
one; "sign out of all other sessions" all but one; a password change or reset all of them.

A record counts while it is not revoked and was seen within the session lifetime, the same sliding
lifetime as the cookie (which is signed again on every response). Services flush; callers commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib.crypto import new_token, token_digest
from app.lib.timeutil import utcnow
from app.settings import Settings
from app.tenancy.models import User, UserSession

# last_seen_at is written at most this often: a page view costs a read, not a write.
TOUCH_EVERY = timedelta(minutes=5)
USER_AGENT_CHARS = 200
ADDRESS_CHARS = 64


def live_since(settings: Settings, now: datetime) -> datetime:
    """Records last seen before this have outlived the session lifetime."""
    return now - timedelta(seconds=settings.session_max_age_seconds)


async def start(session: AsyncSession, *, user_id: int, user_agent: str, address: str) -> str:
    """A new record; returns the raw session id for the cookie (only its digest is stored)."""
    raw = new_token()
    session.add(
        UserSession(
            user_id=user_id,
            token_digest=token_digest(raw),
            user_agent=user_agent[:USER_AGENT_CHARS],
            address=address[:ADDRESS_CHARS],
        )
    )
    await session.flush()
    return raw


async def signed_in(
    session: AsyncSession, *, user_id: int, raw: str, since: datetime
) -> tuple[User, UserSession] | None:
    """The user and this browser's record, if the record is theirs and still counts: one lookup by the
    record's unique digest, joined to the user."""
    row = (
        await session.execute(
            select(User, UserSession)
            .join(UserSession, UserSession.user_id == User.id)
            .where(
                UserSession.token_digest == token_digest(raw),
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.last_seen_at > since,
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


def touch_due(record: UserSession, now: datetime) -> bool:
    return record.last_seen_at <= now - TOUCH_EVERY


async def touch(session: AsyncSession, *, record_id: int, now: datetime) -> None:
    await session.execute(update(UserSession).where(UserSession.id == record_id).values(last_seen_at=now))


async def active_of(session: AsyncSession, *, user_id: int, since: datetime) -> list[UserSession]:
    """The user's sessions that still count, most recently seen first."""
    stmt = (
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.last_seen_at > since,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(await session.scalars(stmt))


async def revoke(
    session: AsyncSession, *, user_id: int, record_id: int, since: datetime
) -> UserSession | None:
    """Revoke one of the user's own sessions that still counts; None for anyone else's (or a gone one)."""
    record = (
        await session.scalars(
            select(UserSession).where(
                UserSession.id == record_id,
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.last_seen_at > since,
            )
        )
    ).first()
    if record is None:
        return None
    record.revoked_at = utcnow()
    await session.flush()
    return record


async def revoke_raw(session: AsyncSession, *, raw: str) -> None:
    """Sign-out: the record of the cookie's session id stops counting, whoever copied the cookie."""
    await session.execute(
        update(UserSession)
        .where(UserSession.token_digest == token_digest(raw), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_others(session: AsyncSession, *, user_id: int, keep_digest: str) -> None:
    await session.execute(
        update(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.token_digest != keep_digest,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


async def revoke_all(session: AsyncSession, *, user_id: int) -> None:
    await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
