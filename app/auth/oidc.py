"""Single sign-on with any OpenID Connect provider (discovery URL + client id/secret) via Authlib.

Authlib's Starlette client keeps state, nonce and the PKCE verifier in the session cookie, fetches
discovery and the JWKS over httpx2, and validates the ID token (signature, issuer, audience, expiry,
nonce). Everything that can go wrong on the way (a forged or stale state, a provider that is down or
answers an error, an ID token that does not validate) comes out of this module as ``SsoError``,
with a message fit to show to the person signing in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.starlette_client import OAuth, OAuthError
from joserfc.errors import JoseError
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from app.settings import Settings

__all__ = ["OidcClient", "OidcProfile", "SsoError", "oidc_client"]

log = logging.getLogger(__name__)


class SsoError(Exception):
    """Sign-in through the provider did not succeed; the message is safe to show."""


@dataclass(frozen=True)
class OidcProfile:
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str


class OidcClient:
    def __init__(self, settings: Settings) -> None:
        if not (settings.oidc_discovery_url and settings.oidc_client_id):
            raise ValueError("OIDC_DISCOVERY_URL and OIDC_CLIENT_ID are both needed for single sign-on")
        self.display_name = settings.oidc_provider_name
        self._oauth = OAuth()
        self._oauth.register(
            name="oidc",
            server_metadata_url=settings.oidc_discovery_url,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value()
            if settings.oidc_client_secret
            else None,
            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
        )

    @property
    def _client(self) -> Any:
        return self._oauth.create_client("oidc")

    async def redirect(self, request: Request, redirect_uri: str) -> Response:
        """The 302 to the provider (state, nonce and PKCE challenge stored in the session)."""
        try:
            response: Response = await self._client.authorize_redirect(request, redirect_uri)
        except (httpx2.HTTPError, ValueError, RuntimeError) as exc:
            log.warning("OIDC discovery failed: %s", exc)
            raise SsoError(f"{self.display_name} cannot be reached right now. Try again later.") from exc
        return response

    async def finish(self, request: Request) -> OidcProfile:
        """Exchange the code, validate the ID token and read the claims.

        An ID token is required: without one nothing ties the answer to this sign-in (the nonce).
        The userinfo endpoint only fills in claims the ID token left out, and only for the same subject.
        """
        client = self._client
        try:
            token = await client.authorize_access_token(request)
            claims: dict[str, Any] = dict(token.get("userinfo") or {})
            if not claims.get("sub"):
                raise SsoError(f"{self.display_name} sent no ID token, so we cannot sign you in.")
            if not claims.get("email"):
                extra = dict(await client.userinfo(token=token))
                if str(extra.get("sub")) == str(claims["sub"]):
                    for key in ("email", "email_verified", "name"):
                        claims.setdefault(key, extra.get(key))
        except OAuthError as exc:
            raise SsoError(f"Single sign-on failed: {exc.description or exc.error}.") from exc
        except JoseError as exc:
            log.warning("OIDC ID token rejected: %s", exc)
            raise SsoError("Single sign-on failed: the identity token did not validate.") from exc
        except (httpx2.HTTPError, ValueError) as exc:
            log.warning("OIDC token exchange failed: %s", exc)
            raise SsoError(
                f"Single sign-on failed: {self.display_name} did not complete the sign-in. Try again."
            ) from exc
        email = claims.get("email")
        verified = claims.get("email_verified")
        return OidcProfile(
            issuer=str(claims.get("iss") or ""),
            subject=str(claims["sub"]),
            email=str(email).strip().lower() if email else None,
            email_verified=verified is True or str(verified).lower() == "true",
            name=str(claims.get("name") or ""),
        )


def oidc_client(conn: HTTPConnection) -> OidcClient | None:
    """The app's single sign-on client, which the lifespan puts on ``app.state``; None when it is off."""
    found: OidcClient | None = conn.app.state.oidc
    return found
