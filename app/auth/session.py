"""Who is signed in: the signed session cookie holds only the user id and the user's session epoch."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection, Request

from app.tenancy.models import User
from app.web import csrf


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
    request.state.signed_in = None if user is None else SignedIn.of(user)
    return user


async def require_user(request: Request, session: AsyncSession) -> User:
    user = await current_user(request, session)
    if user is None:
        raise LoginRequired()
    return user
