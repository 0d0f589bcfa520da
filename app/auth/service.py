"""Sign-in, accounts, throttling and password reset. Services flush; callers commit."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import LoginAttempt, OidcIdentity, PasswordReset
from app.lib.crypto import new_token, token_digest
from app.lib.passwords import PasswordHasherBox, password_problem
from app.lib.timeutil import utcnow
from app.settings import Settings
from app.tenancy import browsers
from app.tenancy import queries as tenancy_queries
from app.tenancy.models import User


class AuthError(ValueError):
    """Shown to the person signing in, as is."""


class Throttled(AuthError):
    pass


WRONG_CREDENTIALS = "That email and password do not match an account."
MAX_EMAIL_LENGTH = 320


def normalize_email(email: str) -> str:
    return email.strip().lower()


# One hash of a random password per hasher, made on first use with that hasher's parameters.
_dummy_hashes: weakref.WeakKeyDictionary[PasswordHasherBox, str] = weakref.WeakKeyDictionary()


async def _dummy_hash(hasher: PasswordHasherBox) -> str:
    found = _dummy_hashes.get(hasher)
    if found is None:
        found = await hasher.hash(new_token())
        _dummy_hashes[hasher] = found
    return found


async def _recent_failures(session: AsyncSession, since: datetime, *where: ColumnElement[bool]) -> int:
    count = await session.scalar(
        select(func.count()).where(*where, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at > since)
    )
    return int(count or 0)


# An address that signed in to an account this recently is that account's owner's: failures
# elsewhere do not lock it out (only its own do).
KNOWN_ADDRESS_DAYS = 30


async def _known_address(session: AsyncSession, *, email: str, address: str) -> bool:
    found = await session.scalar(
        select(LoginAttempt.id)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.address == address,
            LoginAttempt.succeeded.is_(True),
            LoginAttempt.created_at > utcnow() - timedelta(days=KNOWN_ADDRESS_DAYS),
        )
        .limit(1)
    )
    return found is not None


async def check_throttle(session: AsyncSession, settings: Settings, *, email: str, address: str) -> None:
    """Too many recent failures for the account, or from the address, refuse the attempt.

    The account's failures count from every address, except for an address that signed in to it
    recently: there only that address's own failures count, so whoever guesses from elsewhere
    cannot lock the owner out.
    """
    window = timedelta(seconds=settings.login_failure_window_seconds)
    since = utcnow() - window
    minutes = max(1, settings.login_failure_window_seconds // 60)
    account = [LoginAttempt.email == email]
    if await _known_address(session, email=email, address=address):
        account.append(LoginAttempt.address == address)
    if await _recent_failures(session, since, *account) >= settings.login_max_failures_per_account:
        raise Throttled(
            f"Too many failed sign-ins for this account. Wait {minutes} minutes or reset your password."
        )
    if (
        await _recent_failures(session, since, LoginAttempt.address == address)
        >= settings.login_max_failures_per_address
    ):
        raise Throttled(f"Too many failed sign-ins from your network. Wait {minutes} minutes and try again.")


async def authenticate(
    session: AsyncSession,
    settings: Settings,
    hasher: PasswordHasherBox,
    *,
    email: str,
    password: str,
    address: str,
) -> User:
    # No account has a longer address; the cut keeps the attempt row within its column.
    email = normalize_email(email)[:MAX_EMAIL_LENGTH]
    await check_throttle(session, settings, email=email, address=address)
    user = await tenancy_queries.user_by_email(session, email)
    # The same argon2 work whether or not the account exists, so timing does not reveal emails.
    has_password = user is not None and user.password_hash is not None
    stored = user.password_hash if user is not None and user.password_hash else await _dummy_hash(hasher)
    verified = await hasher.verify(stored, password)
    ok = verified and has_password and user is not None and user.is_active
    session.add(LoginAttempt(email=email, address=address, succeeded=ok))
    await session.flush()
    if not ok or user is None:
        raise AuthError(WRONG_CREDENTIALS)
    assert user.password_hash is not None
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = await hasher.hash(password)
    user.last_login_at = utcnow()
    return user


async def create_user(
    session: AsyncSession,
    hasher: PasswordHasherBox,
    *,
    email: str,
    password: str | None,
    name: str = "",
    is_staff: bool = False,
    email_verified: bool = False,
) -> User:
    email = normalize_email(email)
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH or " " in email:
        raise AuthError("Enter a valid email address.")
    if password is not None and (problem := password_problem(password)):
        raise AuthError(problem)
    if await tenancy_queries.user_by_email(session, email) is not None:
        raise AuthError("An account with this email already exists. Sign in, or reset your password.")
    user = User(
        email=email,
        name=name.strip()[:200],
        password_hash=await hasher.hash(password) if password is not None else None,
        is_staff=is_staff,
        email_verified=email_verified,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise AuthError(
            "An account with this email already exists. Sign in, or reset your password."
        ) from exc
    return user


@dataclass(frozen=True)
class ResetLink:
    user: User
    token: str


async def start_password_reset(session: AsyncSession, settings: Settings, *, email: str) -> ResetLink | None:
    """A reset token for an existing active account; None otherwise (the page says the same either way)."""
    user = await tenancy_queries.user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    token = new_token()
    session.add(
        PasswordReset(
            user_id=user.id,
            token_digest=token_digest(token),
            expires_at=utcnow() + timedelta(seconds=settings.password_reset_max_age_seconds),
        )
    )
    await session.flush()
    return ResetLink(user=user, token=token)


async def usable_reset(session: AsyncSession, token: str) -> PasswordReset:
    reset = (
        await session.scalars(select(PasswordReset).where(PasswordReset.token_digest == token_digest(token)))
    ).first()
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise AuthError("This password reset link is invalid, used or expired. Ask for a new one.")
    return reset


async def finish_password_reset(
    session: AsyncSession, hasher: PasswordHasherBox, *, token: str, password: str
) -> User:
    reset = await usable_reset(session, token)
    if problem := password_problem(password):
        raise AuthError(problem)
    user = await session.get(User, reset.user_id)
    if user is None or not user.is_active:
        raise AuthError("This account is no longer active.")
    user.password_hash = await hasher.hash(password)
    user.email_verified = True
    await end_sessions(session, user=user)
    await _spend_reset_links(session, user_id=user.id)
    return user


async def _spend_reset_links(session: AsyncSession, *, user_id: int) -> None:
    """Once the password changes, every other link sent to reset it stops working too."""
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )
    await session.flush()


async def oidc_sign_in(
    session: AsyncSession,
    hasher: PasswordHasherBox,
    *,
    issuer: str,
    subject: str,
    email: str | None,
    email_verified: bool,
    name: str,
) -> User:
    """Known subject → that user; else the user with this verified email; else a new user."""
    identity = (
        await session.scalars(
            select(OidcIdentity).where(OidcIdentity.issuer == issuer, OidcIdentity.subject == subject)
        )
    ).first()
    if identity is not None:
        user = await session.get(User, identity.user_id)
        if user is None or not user.is_active:
            raise AuthError("This account is disabled.")
        user.last_login_at = utcnow()
        return user
    if not email or not email_verified:
        raise AuthError(
            "Your identity provider did not confirm your email address, so we cannot sign you in."
        )
    user = await tenancy_queries.user_by_email(session, email)
    if user is None:
        user = await create_user(session, hasher, email=email, password=None, name=name, email_verified=True)
    elif not user.is_active:
        raise AuthError("This account is disabled.")
    user.email_verified = True
    user.last_login_at = utcnow()
    session.add(OidcIdentity(user_id=user.id, issuer=issuer, subject=subject))
    await session.flush()
    return user


async def end_sessions(session: AsyncSession, *, user: User) -> None:
    """Every session of this user so far ends (password change or reset): the epoch in every cookie
    issued so far is stale, and every record is revoked so none is listed as active."""
    user.session_epoch += 1
    await browsers.revoke_all(session, user_id=user.id)
    await session.flush()
