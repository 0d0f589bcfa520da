"""Who is signed in: the signed session cookie holds only the user id and the user's session epoch."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection, Request

from app.tenancy.models import User
from app.web import csrf


class LoginRequired(Exception):
    """Raised by handlers that need a signed-in user; answered with a redirect to /login."""


def login_user(conn: HTTPConnection, user: User) -> None:
    conn.session.clear()
    conn.session["uid"] = user.id
    conn.session["epoch"] = user.session_epoch
    csrf.rotate_token(conn)


def logout_user(conn: HTTPConnection) -> None:
    conn.session.clear()
    csrf.rotate_token(conn)


async def current_user(request: Request, session: AsyncSession) -> User | None:
    """The signed-in user, or None; a session from before a password change no longer counts."""
    if "user" in request.state._state:
        cached: User | None = request.state.user
        return cached
    uid = request.session.get("uid")
    user = await session.get(User, uid) if isinstance(uid, int) else None
    if user is not None and (not user.is_active or request.session.get("epoch") != user.session_epoch):
        user = None
    if user is None and uid is not None:
        logout_user(request)
    request.state.user = user
    return user


async def require_user(request: Request, session: AsyncSession) -> User:
    user = await current_user(request, session)
    if user is None:
        raise LoginRequired()
    return user
