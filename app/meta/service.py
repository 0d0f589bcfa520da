"""Rules for Meta apps (app id, app secret, verify token). Services flush; callers commit.

After the caller commits a change, it calls ``app.meta.app_cache.invalidate(app_id)`` so the
receiver of this process stops using the cached secret at once (other processes within their TTL).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.lib.timeutil import utcnow
from app.meta import queries
from app.meta.models import MetaApp
from app.tenancy.context import OrgContext

# Meta app ids are decimal numbers (15-16 digits today); leave room for longer ones.
APP_ID_RE = re.compile(r"^[0-9]{1,32}$")
MAX_SECRET_LENGTH = 200
MAX_NAME_LENGTH = 200
# Facebook Login for Business configuration ids are decimal numbers, like app ids.
LOGIN_CONFIG_ID_RE = re.compile(r"^[0-9]{1,64}$")


class MetaAppError(ValueError):
    """A rule was broken; the message is meant for the person who asked."""


@dataclass(frozen=True)
class SavedApp:
    app: MetaApp
    created: bool


def callback_url(base_url: str, app_id: str) -> str:
    """Where Meta sends the app's webhooks: pasted into the App Dashboard, posted to by test events."""
    return f"{base_url.rstrip('/')}/webhooks/whatsapp/{app_id}"


def new_verify_token() -> str:
    """A verify token for people who leave the field empty: they paste it into Meta's dashboard."""
    return secrets.token_urlsafe(24)


def _clean_app_id(app_id: str) -> str:
    app_id = app_id.strip()
    if not APP_ID_RE.match(app_id):
        raise MetaAppError("The app id is the number shown at the top of Meta's App Dashboard (digits only).")
    return app_id


def _clean_login_config_id(value: str) -> str:
    value = value.strip()
    if value and not LOGIN_CONFIG_ID_RE.match(value):
        raise MetaAppError(
            "The login configuration id is the number Meta shows under Facebook Login for Business → "
            "Configurations (digits only)."
        )
    return value


def _clean_secret(value: str, label: str) -> str:
    value = value.strip()
    if len(value) > MAX_SECRET_LENGTH:
        raise MetaAppError(f"The {label} is too long ({MAX_SECRET_LENGTH} characters at most).")
    if any(ch.isspace() for ch in value):
        raise MetaAppError(f"The {label} cannot contain spaces.")
    return value


async def save_app(
    session: AsyncSession,
    *,
    org_id: int | None,
    app_id: str,
    name: str = "",
    app_secret: str = "",
    verify_token: str = "",
    login_config_id: str | None = None,
) -> SavedApp:
    """Adds the app, or replaces the details of an app that the same owner registered.

    ``org_id`` None is the platform's own app. An empty secret keeps the stored one (replace only);
    an empty verify token keeps the stored one, or makes a new one for a new app. The login
    configuration id (Facebook Login for Business) is kept when None, removed when empty.
    """
    app_id = _clean_app_id(app_id)
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise MetaAppError(f"The name is too long ({MAX_NAME_LENGTH} characters at most).")
    app_secret = _clean_secret(app_secret, "app secret")
    verify_token = _clean_secret(verify_token, "verify token")
    config_id = None if login_config_id is None else _clean_login_config_id(login_config_id)
    existing = await queries.app_by_app_id(session, app_id)
    if existing is not None and existing.org_id != org_id:
        # Say that it is taken, never by whom.
        raise MetaAppError(
            f"The app {app_id} is already registered on wabawatch by someone else. "
            "Each Meta app can be registered once; ask its owner, or use another app."
        )
    if existing is None:
        if not app_secret:
            raise MetaAppError("Enter the app secret (App Dashboard → App settings → Basic).")
        app = MetaApp(
            app_id=app_id,
            org_id=org_id,
            name=name,
            app_secret=app_secret,
            verify_token=verify_token or new_verify_token(),
            login_config_id=config_id or None,
            signature_failures=0,
        )
        session.add(app)
        await session.flush()
        return SavedApp(app=app, created=True)
    if name:
        existing.name = name
    if app_secret:
        existing.app_secret = app_secret
    if verify_token:
        existing.verify_token = verify_token
    if config_id is not None:
        existing.login_config_id = config_id or None
    await session.flush()
    return SavedApp(app=existing, created=False)


async def save_org_app(
    session: AsyncSession,
    ctx: OrgContext,
    *,
    app_id: str,
    name: str,
    app_secret: str,
    verify_token: str,
    login_config_id: str | None = None,
) -> SavedApp:
    """An org's own app; only owners and admins get here (the route asks for the admin role)."""
    if not ctx.can_admin:
        raise MetaAppError("Only owners and admins change apps.")
    saved = await save_app(
        session,
        org_id=ctx.org_id,
        app_id=app_id,
        name=name,
        app_secret=app_secret,
        verify_token=verify_token,
        login_config_id=login_config_id,
    )
    # Which parts changed, never their values.
    changed = [
        k for k, v in (("name", name), ("app_secret", app_secret), ("verify_token", verify_token)) if v
    ]
    if login_config_id is not None:
        changed.append("login_config_id")
    await audit.record(
        session,
        org_id=ctx.org_id,
        actor=ctx.user,
        action=audit.APP_ADDED if saved.created else audit.APP_CHANGED,
        target=saved.app.app_id,
        details={} if saved.created else {"changed": ", ".join(changed) or "nothing"},
    )
    return saved


async def record_handshake(session: AsyncSession, *, app_pk: int) -> None:
    """Meta verified the callback URL (the receiver checked the verify token)."""
    await session.execute(update(MetaApp).where(MetaApp.id == app_pk).values(last_verified_at=utcnow()))
