"""The Graph API client: WABA reads, subscribed_apps, debug_token, the app node and the login code exchange.

One ``httpx2.AsyncClient`` per process is enough; pass it in (and a shared ``UsageTracker``) so
that connections and rate-limit knowledge are shared. Tokens travel in the Authorization header
(or a form body for the code exchange), never in a logged URL; logs name the method and path only.

Retries: a 5xx answer or a timeout is retried with exponential backoff and jitter; nothing else is
(a 4xx will not change by asking again, and a refused connection means Meta is not reachable).
The code exchange is not retried after a timeout: Meta may have used the code already.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Self
from urllib.parse import urlsplit

import httpx2

from app.graph import redact
from app.graph.errors import (
    RATE_LIMIT_CODES,
    CallContext,
    GraphError,
    GraphHeldBack,
    GraphRateLimited,
    GraphRequestError,
    GraphUnavailable,
    translate,
    when,
)
from app.graph.nodes import (
    WABA_MANAGEMENT,
    AppInfo,
    PhoneNumberInfo,
    SubscribedApp,
    TokenInfo,
    WabaInfo,
    obj,
)
from app.graph.usage import HoldBack, UsageReading, UsageTracker, parse_app_usage, parse_business_usage
from app.lib.timeutil import utcnow
from app.settings import Settings

log = logging.getLogger(__name__)
redact.install()

WABA_FIELDS = (
    "id,name,currency,timezone_id,message_template_namespace,account_review_status,"
    "business_verification_status,status,health_status,owner_business_info"
)
PHONE_FIELDS = (
    "id,display_phone_number,verified_name,name_status,quality_rating,code_verification_status,"
    "status,platform_type,throughput"
)
MAX_PAGES = 50


def messaging_limit_field(version: str) -> str:
    """v24.0 renamed messaging_limit_tier (SPEC.md §6.2)."""
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        return "whatsapp_business_manager_messaging_limit"
    return "whatsapp_business_manager_messaging_limit" if major >= 24 else "messaging_limit_tier"


@cache
def _ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle costs ~0.1 s: do it once per process, not once per client."""
    return httpx2.create_ssl_context()


def oauth_dialog_url(base_url: str, version: str) -> str:
    """Facebook Login's dialog lives on www.facebook.com when the Graph API is Meta's, else beside the fake."""
    parts = urlsplit(base_url)
    if parts.hostname == "graph.facebook.com":
        return f"https://www.facebook.com/{version}/dialog/oauth"
    return f"{base_url.rstrip('/')}/{version}/dialog/oauth"


class GraphClient:
    def __init__(
        self,
        *,
        base_url: str,
        version: str,
        http: httpx2.AsyncClient | None = None,
        usage: UsageTracker | None = None,
        app_id: str = "",
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.usage = usage or UsageTracker(clock=clock)
        self.app_id = app_id
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.clock = clock
        self.last_usage: UsageReading | None = None
        self._owns_http = http is None
        self.http = http or httpx2.AsyncClient(timeout=timeout, verify=_ssl_context())

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> GraphClient:
        return cls(base_url=settings.graph_api_base, version=settings.graph_api_version, **options)

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the calls ----------------------------------------------------------------------------
    async def get_waba(self, waba_id: str, token: str) -> WabaInfo:
        context = CallContext(f"read WABA {waba_id}", waba_id, WABA_MANAGEMENT)
        body = await self._call("GET", waba_id, token=token, context=context, params={"fields": WABA_FIELDS})
        return WabaInfo.from_graph(body)

    async def list_phone_numbers(self, waba_id: str, token: str) -> list[PhoneNumberInfo]:
        """Every number of the WABA, following Graph's cursors."""
        context = CallContext(f"list the phone numbers of WABA {waba_id}", waba_id, WABA_MANAGEMENT)
        fields = f"{PHONE_FIELDS},{messaging_limit_field(self.version)}"
        params = {"fields": fields, "limit": "100"}
        found: list[PhoneNumberInfo] = []
        for _ in range(MAX_PAGES):
            body = await self._call(
                "GET", f"{waba_id}/phone_numbers", token=token, context=context, params=params
            )
            found.extend(PhoneNumberInfo.from_graph(p) for p in body.get("data") or [] if isinstance(p, dict))
            paging = obj(body.get("paging"))
            after = obj(paging.get("cursors")).get("after")
            if not paging.get("next") or not after:
                break
            params = {**params, "after": str(after)}
        return found

    async def list_subscribed_apps(self, waba_id: str, token: str) -> list[SubscribedApp]:
        context = CallContext(f"list the apps subscribed to WABA {waba_id}", waba_id, WABA_MANAGEMENT)
        body = await self._call("GET", f"{waba_id}/subscribed_apps", token=token, context=context)
        return [SubscribedApp.from_graph(item) for item in body.get("data") or [] if isinstance(item, dict)]

    async def subscribe_app(
        self,
        waba_id: str,
        token: str,
        *,
        override_callback_uri: str | None = None,
        verify_token: str | None = None,
    ) -> None:
        """Subscribes the token's app; without an override any earlier override is removed (Meta's rule)."""
        context = CallContext(f"subscribe the app to WABA {waba_id}'s webhooks", waba_id, WABA_MANAGEMENT)
        if bool(override_callback_uri) != bool(verify_token):
            raise GraphRequestError(
                f"Could not {context.action}: an override callback URL needs a verify token, and the other way round."
            )
        payload = (
            {"override_callback_uri": override_callback_uri, "verify_token": verify_token}
            if override_callback_uri
            else None
        )
        body = await self._call(
            "POST", f"{waba_id}/subscribed_apps", token=token, context=context, json=payload
        )
        self._expect_success(body, context)

    async def unsubscribe_app(self, waba_id: str, token: str) -> None:
        context = CallContext(f"unsubscribe the app from WABA {waba_id}'s webhooks", waba_id, WABA_MANAGEMENT)
        body = await self._call("DELETE", f"{waba_id}/subscribed_apps", token=token, context=context)
        self._expect_success(body, context)

    async def debug_token(self, input_token: str, *, app_id: str, app_secret: str) -> TokenInfo:
        """Inspects a token with the app's own access token; an invalid token is an answer, not an error."""
        context = CallContext("check the access token")
        body = await self._call(
            "GET",
            "debug_token",
            token=f"{app_id}|{app_secret}",
            context=context,
            params={"input_token": input_token},
            app_id=app_id,
        )
        data = body.get("data")
        return TokenInfo.from_graph(data if isinstance(data, dict) else {})

    async def get_app(self, *, app_id: str, app_secret: str) -> AppInfo:
        """The app node with the business portfolio that owns it, read with the app's own access
        token (which may read every field of its app)."""
        context = CallContext(f"read which business owns app {app_id}")
        body = await self._call(
            "GET",
            app_id,
            token=f"{app_id}|{app_secret}",
            context=context,
            params={"fields": "id,name,business"},
            app_id=app_id,
        )
        return AppInfo.from_graph(body)

    # -- plumbing -----------------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        context: CallContext,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        app_id: str | None = None,
    ) -> dict[str, Any]:
        app_key = self.app_id if app_id is None else app_id
        held = self.usage.check(context.waba_id, app_id=app_key)
        if held is not None:
            raise self._held_back(held, context)
        request = self.http.build_request(
            method,
            f"{self.base_url}/{self.version}/{path}",
            params=params,
            json=json,
            data=data,
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=self.timeout,
        )
        attempt = 1
        while True:
            response = await self._send(request, path, context)
            if response is None and attempt > self.retries:
                raise GraphUnavailable(
                    f"Could not {context.action}: Meta's Graph API did not answer within {self.timeout:g} seconds "
                    f"({attempt} {'attempt' if attempt == 1 else 'attempts'}). Try again in a few minutes."
                )
            if response is not None:
                reading = self._record(response, app_key)
                if response.status_code < 500 or attempt > self.retries:
                    return self._body_or_raise(response, reading, context, app_key, attempts=attempt)
            await asyncio.sleep(self._delay(attempt))
            attempt += 1

    async def _send(self, request: httpx2.Request, path: str, context: CallContext) -> httpx2.Response | None:
        """The answer, or None when none came in time; a connection failure is final (not retried)."""
        started = time.monotonic()
        try:
            response = await self.http.send(request)
        except httpx2.TimeoutException:
            log.warning("graph %s /%s timed out after %.1f s", request.method, path, self.timeout)
            return None
        except httpx2.TransportError as exc:
            log.warning("graph %s /%s could not connect: %s", request.method, path, type(exc).__name__)
            raise GraphUnavailable(
                f"Could not {context.action}: Meta's Graph API could not be reached ({type(exc).__name__})."
            ) from None
        elapsed = (time.monotonic() - started) * 1000
        log.info("graph %s /%s -> %d in %.0f ms", request.method, path, response.status_code, elapsed)
        return response

    def _body_or_raise(
        self,
        response: httpx2.Response,
        reading: UsageReading,
        context: CallContext,
        app_key: str,
        *,
        attempts: int,
    ) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and isinstance(body, dict) and "error" not in body:
            return body
        code = obj(body.get("error")).get("code") if isinstance(body, dict) else None
        retry_at = self._retry_at(reading, context.waba_id) if code in RATE_LIMIT_CODES else None
        error = translate(
            body,
            status=response.status_code,
            context=context,
            retry_at=retry_at,
            now=self.clock(),
            attempts=attempts,
        )
        if isinstance(error, GraphRateLimited) and retry_at is not None:
            subject = "app" if code in (4, 341) or not context.waba_id else context.waba_id
            self.usage.throttled(subject, retry_at, app_id=app_key)
        log.warning(
            "graph %s: %s (code %s, trace %s)",
            context.action,
            type(error).__name__,
            error.code,
            error.fbtrace_id,
        )
        raise error

    def _record(self, response: httpx2.Response, app_key: str) -> UsageReading:
        reading = UsageReading(
            observed_at=self.clock(),
            app=parse_app_usage(response.headers.get("x-app-usage")),
            businesses=parse_business_usage(response.headers.get("x-business-use-case-usage")),
        )
        self.usage.record(reading, app_id=app_key)
        self.last_usage = reading
        return reading

    def _retry_at(self, reading: UsageReading, waba_id: str | None) -> datetime:
        readings = reading.businesses.get(waba_id or "", ())
        regain = max((r.regain_minutes for r in readings), default=0)
        return reading.observed_at + max(timedelta(minutes=regain), self.usage.cooldown)

    def _held_back(self, held: HoldBack, context: CallContext) -> GraphError:
        who = "the app" if held.subject == "app" else f"WABA {held.subject}"
        return GraphHeldBack(
            f"Not sent: wabawatch is holding back Graph calls for {who}, which has used {held.peak}% of its "
            f"hourly limit, so as not to get it blocked. {when(held.until, self.clock())}",
            retry_at=held.until,
        )

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with jitter after the ``attempt``-th try."""
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0))

    @staticmethod
    def _expect_success(body: dict[str, Any], context: CallContext) -> None:
        if body.get("success") is not True:
            raise GraphRequestError(f"Could not {context.action}: Meta did not confirm it.")
