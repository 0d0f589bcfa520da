"""Alerts to Slack incoming webhooks (Block Kit), posted with httpx2.

The URL is checked by ``url_guard`` before every post (its host may resolve elsewhere by now), the
connection goes only to an address the guard checked (``GuardedBackend``), and redirects are never
followed. Slack answers 200 "ok"; 404 ``no_service`` / 410
``channel_is_archived`` (and a few other bodies) mean the webhook is gone for good; 429 and 5xx are
worth retrying, as are timeouts and broken connections; any other answer is permanent.
"""

from __future__ import annotations

import contextvars
import logging
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import httpcore2
import httpx2

from app.alerts import render
from app.alerts.messages import AlertMessage
from app.alerts.transports import ChannelGone, DeliveryError, PermanentFailure, Target
from app.alerts.url_guard import GuardedBackend, RefusedTarget, UrlPolicy, check_url

GONE_BODIES = frozenset(
    {"no_service", "channel_is_archived", "channel_not_found", "team_disabled", "invalid_token", "no_team"}
)
_MASK = "[redacted]"


_WEBHOOK_PATH = re.compile(r"/services/[^\s\"']*")


class _HideWebhookPaths(logging.Filter):
    """httpx2 logs each request's URL; an incoming-webhook URL's path is its secret. Other filters
    (the Graph client's) may have turned the URL into a string already, so both forms are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _WEBHOOK_PATH.sub("/services/" + _MASK, str(a))
                if isinstance(a, httpx2.URL | str) and "/services/" in str(a)
                else a
                for a in record.args
            )
        return True


_filter = _HideWebhookPaths()


def hide_webhook_paths() -> None:
    logger = logging.getLogger("httpx2")
    if _filter not in logger.filters:
        logger.addFilter(_filter)


@cache
def _ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle costs ~0.1 s: once per process."""
    return httpx2.create_ssl_context()


def guarded_transport(policy: UrlPolicy) -> httpx2.AsyncHTTPTransport:
    """httpx2's transport with its connection pool built on ``GuardedBackend``. httpx2 has no
    parameter for a network backend, so the pool it made is replaced by an equivalent one
    (tests/alerts/test_url_guard.py proves the guard is the one connecting)."""
    transport = httpx2.AsyncHTTPTransport(verify=_ssl_context())
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(policy),
    )
    return transport


_client: contextvars.ContextVar[httpx2.AsyncClient | None] = contextvars.ContextVar(
    "slack_client", default=None
)


class SlackTransport:
    """Posts through the batch's client (kept-alive connections) or, outside a batch, a short-lived
    one: the worker owns no long-lived resources to close."""

    def __init__(self, *, policy: UrlPolicy, base_url: str, timeout: float) -> None:
        self.policy = policy
        self.base_url = base_url
        self.timeout = timeout
        hide_webhook_paths()

    def _new_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            transport=guarded_transport(self.policy), timeout=self.timeout, follow_redirects=False
        )

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        async with self._new_client() as http:
            token = _client.set(http)
            try:
                yield
            finally:
                _client.reset(token)

    async def _post(self, url: str, payload: dict[str, object]) -> httpx2.Response:
        shared = _client.get()
        if shared is not None:
            return await shared.post(url, json=payload)
        async with self._new_client() as http:
            return await http.post(url, json=payload)

    async def send(self, target: Target, message: AlertMessage) -> None:
        if not target.url:
            raise PermanentFailure("the channel has no webhook URL")
        try:
            await check_url(target.url, self.policy)
        except RefusedTarget as exc:
            raise PermanentFailure(str(exc)) from exc
        payload = render.slack_payload(message, base_url=self.base_url)
        try:
            response = await self._post(target.url, payload)
        except RefusedTarget as exc:  # its host resolved somewhere else when connecting
            raise PermanentFailure(str(exc)) from exc
        except httpx2.TimeoutException as exc:
            raise DeliveryError(f"Slack did not answer in time ({type(exc).__name__})") from exc
        except httpx2.TransportError as exc:
            raise DeliveryError(f"could not reach Slack ({type(exc).__name__})") from exc
        body = response.text.strip()[:200]
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (404, 410) or body in GONE_BODIES:
            raise ChannelGone(f"Slack answered {status} {body!r}: the webhook is gone")
        if 300 <= status < 400:
            raise PermanentFailure(f"Slack answered a redirect ({status}); redirects are not followed")
        if status == 429 or status >= 500:
            raise DeliveryError(f"Slack answered {status} {body!r}")
        raise PermanentFailure(f"Slack answered {status} {body!r}")
