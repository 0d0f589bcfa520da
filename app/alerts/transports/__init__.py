"""One transport per channel kind, in a registry; every message (alerts, tests, digests, notices)
goes out through ``Transport.send``.

A transport raises ``DeliveryError`` when the message did not get through: ``retryable`` says
whether trying again later can help; ``ChannelGone`` says the target no longer exists (the channel is
disabled and the org's admins are told).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from app.alerts.messages import AlertMessage


class DeliveryError(Exception):
    retryable = True


class PermanentFailure(DeliveryError):
    retryable = False


class ChannelGone(PermanentFailure):
    """The receiving end says the URL is gone for good (Slack 404/410, no_service, archived)."""


@dataclass(frozen=True)
class Target:
    kind: str
    addresses: tuple[str, ...] = ()  # mail recipients
    url: str | None = None  # Slack incoming webhook (a secret: never logged or shown)


class Transport(Protocol):
    async def send(self, target: Target, message: AlertMessage) -> None: ...


class Registry:
    def __init__(self, transports: dict[str, Transport]) -> None:
        self._transports = dict(transports)

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Opens each transport's shared connection (if it has one) for the sends inside."""
        async with AsyncExitStack() as stack:
            for transport in self._transports.values():
                opener = getattr(transport, "batch", None)
                if opener is not None:
                    await stack.enter_async_context(opener())
            yield

    def for_kind(self, kind: str) -> Transport:
        try:
            return self._transports[kind]
        except KeyError as exc:
            raise PermanentFailure(f"no transport for {kind!r} channels") from exc
