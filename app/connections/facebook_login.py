"""Facebook Login for Business through Authlib: the authorization-code flow that connects WABAs.

Authlib's Starlette client keeps the state in the session and exchanges the code (client_secret_post,
as Meta's token endpoint takes it). The login configuration id (``config_id``) replaces scopes on
Meta's side; the scopes are sent as well so that a configuration-less app still asks for them.
The token it yields never goes to the browser in the clear: the session keeps it Fernet-encrypted
until the admin has picked which WABAs to connect.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2
from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import Response

from app.db.types import get_keyring
from app.graph.client import oauth_dialog_url
from app.meta.models import MetaApp

log = logging.getLogger(__name__)

SCOPES = "whatsapp_business_management,business_management"
SESSION_KEY = "fb_login"


class LoginError(Exception):
    """The Facebook login did not give a token; the message is safe to show."""


def _client(app: MetaApp, *, base_url: str, version: str) -> Any:
    oauth = OAuth()
    oauth.register(
        name="facebook",
        client_id=app.app_id,
        client_secret=app.app_secret,
        authorize_url=oauth_dialog_url(base_url, version),
        access_token_url=f"{base_url.rstrip('/')}/{version}/oauth/access_token",
        client_kwargs={"scope": SCOPES, "token_endpoint_auth_method": "client_secret_post"},
    )
    return oauth.create_client("facebook")


async def redirect(
    request: Request, app: MetaApp, *, base_url: str, version: str, redirect_uri: str
) -> Response:
    """The 302 to Meta's dialog; remembers which app (not its secret) the login is for."""
    extra = {"config_id": app.login_config_id} if app.login_config_id else {}
    request.session[SESSION_KEY] = {"app_id": app.app_id}
    response: Response = await _client(app, base_url=base_url, version=version).authorize_redirect(
        request, redirect_uri, **extra
    )
    return response


def started_for(request: Request) -> str | None:
    """The app id the login in this session was started for."""
    found = request.session.get(SESSION_KEY)
    return str(found["app_id"]) if isinstance(found, dict) and found.get("app_id") else None


async def finish(request: Request, app: MetaApp, *, base_url: str, version: str) -> str:
    """Checks the state, exchanges the code; returns the access token (kept encrypted in the session)."""
    if request.query_params.get("error"):
        reason = request.query_params.get("error_description") or request.query_params["error"]
        raise LoginError(f"The Facebook login was cancelled or refused ({reason[:200]}).")
    try:
        token = await _client(app, base_url=base_url, version=version).authorize_access_token(request)
    except OAuthError as exc:
        log.warning("facebook login failed: %s", exc.error)
        raise LoginError(
            f"The Facebook login did not finish: {exc.description or exc.error}. Start again."
        ) from exc
    except httpx2.HTTPError as exc:
        raise LoginError("Meta could not be reached to finish the Facebook login. Try again.") from exc
    value = token.get("access_token")
    if not isinstance(value, str) or not value:
        raise LoginError("Meta's answer had no access token. Start again.")
    request.session[SESSION_KEY] = {"app_id": app.app_id, "token": get_keyring().encrypt(value)}
    return value


def token_of(request: Request) -> str | None:
    found = request.session.get(SESSION_KEY)
    if not isinstance(found, dict) or not found.get("token"):
        return None
    return get_keyring().decrypt(str(found["token"]))


def forget(request: Request) -> None:
    request.session.pop(SESSION_KEY, None)
