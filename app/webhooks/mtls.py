"""Mutual TLS for Meta's webhook POSTs, verified at the reverse proxy (deploy/nginx/wabawatch.conf).

The proxy checks Meta's client certificate and passes its verdict in ``X-Client-Verify`` (SUCCESS
only for a certificate of Meta's CA with subject CN client.webhooks.fbclientcerts.com) and the
subject in ``X-Client-DN``. With WEBHOOK_REQUIRE_CLIENT_CERT the receiver believes those headers
only from a WEBHOOK_TRUSTED_PROXIES address, and checks the CN itself too.

The proxy must not send X-Forwarded-For on webhook routes: uvicorn's --proxy-headers would
otherwise replace the proxy's address with the caller's, and the request would not count as coming
from the proxy (the config in deploy/nginx clears it there).
"""

from __future__ import annotations

import ipaddress
import re

from starlette.types import Scope

from app.settings import Settings

VERIFY_HEADER = b"x-client-verify"
DN_HEADER = b"x-client-dn"
_RDN_SPLIT = re.compile(r"(?<!\\),")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> list[Network]:
    """``"127.0.0.1, 10.0.0.0/8"`` -> networks; ValueError names the entry that is not one."""
    networks: list[Network] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"WEBHOOK_TRUSTED_PROXIES: {part!r} is not an address or network") from exc
    return networks


def subject_has_cn(dn: str, cn: str) -> bool:
    """Whether the RFC 2253 subject (as nginx's $ssl_client_s_dn gives it) has exactly ``CN=cn``."""
    return any(part.strip() == f"CN={cn}" for part in _RDN_SPLIT.split(dn))


class ClientCertCheck:
    def __init__(self, proxies: list[Network], cn: str) -> None:
        if not proxies:
            raise ValueError(
                "WEBHOOK_REQUIRE_CLIENT_CERT needs WEBHOOK_TRUSTED_PROXIES (the proxy's address)"
            )
        self.proxies = proxies
        self.cn = cn

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientCertCheck | None:
        """None when client certificates are not required."""
        if not settings.webhook_require_client_cert:
            return None
        return cls(parse_networks(settings.webhook_trusted_proxies), settings.webhook_client_cert_cn)

    def _from_proxy(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def verified(self, scope: Scope) -> bool:
        return self.verdict(scope) is True

    def verdict(self, scope: Scope) -> bool | None:
        """What a trusted proxy said of the client certificate: True (Meta's, verified), False
        (missing, failed or another subject), None (no trusted proxy spoke: nothing to record)."""
        if not self._from_proxy(scope):
            return None
        headers = dict(scope["headers"])
        if VERIFY_HEADER not in headers:
            return None
        verdict = headers[VERIFY_HEADER].decode("latin-1")
        dn = headers.get(DN_HEADER, b"").decode("latin-1")
        return verdict == "SUCCESS" and subject_has_cn(dn, self.cn)

    @classmethod
    def observer(cls, settings: Settings) -> ClientCertCheck | None:
        """Reads verdicts for the record even when they are not required; None without proxies."""
        proxies = parse_networks(settings.webhook_trusted_proxies)
        return cls(proxies, settings.webhook_client_cert_cn) if proxies else None
