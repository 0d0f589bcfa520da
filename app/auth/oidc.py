"""Single sign-on with any OpenID Connect provider (discovery URL + client id/secret) via Authlib."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request
from starlette.responses import Response

from app.settings import Settings

__all__ = ["OAuthError", "OidcClient", "OidcProfile"]


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
        response: Response = await self._client.authorize_redirect(request, redirect_uri)
        return response

    async def finish(self, request: Request) -> OidcProfile:
        """Exchange the code, validate the ID token (signature, nonce, audience) and read the claims."""
        token = await self._client.authorize_access_token(request)
        claims: dict[str, Any] = dict(token.get("userinfo") or {})
        if not claims.get("email"):
            claims.update(await self._client.userinfo(token=token))
        metadata = await self._client.load_server_metadata()
        email = claims.get("email")
        verified = claims.get("email_verified")
        return OidcProfile(
            issuer=str(metadata.get("issuer") or claims.get("iss") or ""),
            subject=str(claims["sub"]),
            email=str(email).strip().lower() if email else None,
            email_verified=verified is True or str(verified).lower() == "true",
            name=str(claims.get("name") or ""),
        )
