"""Who is signed in: the signed session cookie holds the user id, the raw id of this browser's session
record (``app/tenancy/browsers.py``) and the user's session epoch. The record lets one browser sign out
alone; the epoch still ends every session at once (password change or reset)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection, Request

from app.lib.crypto import token_digest
from app.lib.timeutil import utcnow
from app.tenancy import browsers
from app.tenancy.models import User
from app.web import csrf
from app.web.errors import LoginRequired
from app.web.forms import client_address
from app.web.services import services


@dataclass(frozen=True)
class SignedIn:
    """What pages show of the signed-in user. Plain values, not the ORM row: an error page is rendered
    after the request's transaction rolled back, and a rollback expires every loaded row."""

    id: int
    email: str
    name: str
    is_staff: bool

    @classmethod
    def of(cls, user: User) -> SignedIn:
        return cls(id=user.id, email=user.email, name=user.name, is_staff=user.is_staff)


async def login_user(request: Request, session: AsyncSession, user: User) -> None:
    """Start a session record for this browser (in the caller's transaction) and put it in the cookie.
    A session this browser already had is revoked: its id is replaced, never kept alongside."""
    previous = request.session.get("sid")
    if isinstance(previous, str):
        await browsers.revoke_raw(session, raw=previous)
    raw = await browsers.start(
        session,
        user_id=user.id,
        user_agent=request.headers.get("user-agent", ""),
        address=client_address(request),
    )
    request.session.clear()
    request.session["uid"] = user.id
    request.session["sid"] = raw
    request.session["epoch"] = user.session_epoch
    csrf.rotate_token(request)


def session_digest(conn: HTTPConnection) -> str | None:
    """The stored digest of this browser's session id, to recognise its record."""
    raw = conn.session.get("sid")
    return token_digest(raw) if isinstance(raw, str) else None


def logout_user(conn: HTTPConnection) -> None:
    conn.session.clear()
    csrf.rotate_token(conn)


async def current_user(request: Request, session: AsyncSession) -> User | None:
    """The signed-in user, or None. Counts only a cookie whose session record is the user's, not
    revoked and seen within the session lifetime, from after the user's last password change."""
    if "user" in request.state._state:
        cached: User | None = request.state.user
        return cached
    svc = services(request)
    now = utcnow()
    uid, raw = request.session.get("uid"), request.session.get("sid")
    found = None
    if isinstance(uid, int) and isinstance(raw, str):
        found = await browsers.signed_in(
            session, user_id=uid, raw=raw, since=browsers.live_since(svc.settings, now)
        )
    user = None
    if found is not None:
        user, record = found
        if not user.is_active or request.session.get("epoch") != user.session_epoch:
            user = None
        elif browsers.touch_due(record, now):
            # Its own short transaction: most pages read in a session that never commits.
            async with svc.db.transaction() as own:
                await browsers.touch(own, record_id=record.id, now=now)
    if user is None and uid is not None:
        logout_user(request)
    request.state.user = user
    request.state.signed_in = None if user is None else SignedIn.of(user)
    return user


async def require_user(request: Request, session: AsyncSession) -> User:
    user = await current_user(request, session)
    if user is None:
        raise LoginRequired()
    return user
