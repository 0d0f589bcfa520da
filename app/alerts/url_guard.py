"""Where alert webhooks may go: https, an allowed host, and only public addresses.

An org admin types the URL, and the worker posts to it from inside our network, so a URL that
reaches a loopback, private, link-local (cloud metadata at 169.254.169.254), shared or reserved
address would let a tenant probe it. The host is resolved and *every* address it has is checked, on
saving and again before each send (DNS may change in between); the connection itself goes through
``GuardedBackend``, which resolves and checks once more and connects to exactly the address it
checked, so a name that answers differently a moment later (DNS rebinding) gains nothing. Redirects
are never followed: a 3xx answer is a failed delivery, so a public URL cannot bounce the request
inwards.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore2


class RefusedTarget(ValueError):
    """The URL may not be used; the message says why, in words for the admin."""


@dataclass(frozen=True)
class UrlPolicy:
    allowed_hosts: frozenset[str]
    # Tests only: http:// and loopback addresses, so a local receiver can stand in for Slack.
    allow_loopback: bool = False


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_problem(ip: IpAddress, *, allow_loopback: bool) -> str | None:
    """Why this address is refused, or None when it is a public one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "a reserved address"
    return None


def check_shape(url: str, policy: UrlPolicy) -> str:
    """The URL's host (lowercase) when scheme, host and form are allowed; RefusedTarget otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise RefusedTarget("That is not a valid URL.") from exc
    schemes = {"https", "http"} if policy.allow_loopback else {"https"}
    if parts.scheme not in schemes:
        raise RefusedTarget("The webhook URL must start with https://.")
    host = (parts.hostname or "").lower()
    if not host:
        raise RefusedTarget("The webhook URL has no host.")
    if parts.username or parts.password:
        raise RefusedTarget("The webhook URL may not contain a user name or password.")
    if host not in policy.allowed_hosts:
        allowed = ", ".join(sorted(policy.allowed_hosts)) or "none"
        raise RefusedTarget(f"The host {host} is not allowed for Slack webhooks (allowed: {allowed}).")
    if port is not None and not (0 < port < 65536):
        raise RefusedTarget("The webhook URL has an invalid port.")
    return host


async def resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedTarget(f"The host {host} does not resolve.") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check_url(url: str, policy: UrlPolicy) -> None:
    """Raises RefusedTarget unless the URL is allowed and every address of its host is public."""
    host = check_shape(url, policy)
    parts = urlsplit(url.strip())
    await vetted_addresses(host, parts.port or (443 if parts.scheme == "https" else 80), policy)


async def vetted_addresses(host: str, port: int, policy: UrlPolicy) -> list[IpAddress]:
    """The host's addresses when every one of them is allowed; RefusedTarget otherwise."""
    addresses = await resolve(host, port)
    if not addresses:
        raise RefusedTarget(f"The host {host} does not resolve.")
    for ip in addresses:
        problem = address_problem(ip, allow_loopback=policy.allow_loopback)
        if problem is not None:
            raise RefusedTarget(f"The host {host} resolves to {problem} ({ip}); alerts are not sent there.")
    return addresses


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """httpcore's network backend for alert webhooks: resolves the host itself when connecting,
    checks every address, and connects to one of exactly those (TLS still verifies the host's name,
    which httpcore takes from the URL, not from the address)."""

    def __init__(self, policy: UrlPolicy) -> None:
        self.policy = policy
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        addresses = await vetted_addresses(host, port, self.policy)
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise RefusedTarget("Alerts are not sent to local sockets.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
