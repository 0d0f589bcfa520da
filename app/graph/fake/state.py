"""The fake Graph API's state, shared by the server thread (or process) and whoever drives it.

Every method takes the lock: tests change the world from their own thread while the server answers.
Usage is counted the way Meta describes it (per app and WABA, over a rolling hour), so the usage
headers grow with real calls and a WABA that reaches its limit is throttled without any fault.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from app.graph.fake.world import FakeApp, FakePhone, FakeSubscription, FakeToken, FakeWaba

FaultKind = Literal[
    "expired_token",
    "invalid_token",
    "missing_permission",
    "no_waba_access",
    "rate_limited",
    "app_rate_limited",
    "server_error",
    "bad_gateway",
    "slow",
]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "expired_token",
    "invalid_token",
    "missing_permission",
    "no_waba_access",
    "rate_limited",
    "app_rate_limited",
    "server_error",
    "bad_gateway",
    "slow",
)
WINDOW_SECONDS = 3600


@dataclass
class Fault:
    """Answer the next ``times`` matching requests (None: until cleared) this way instead of normally.

    ``path`` matches when it is a substring of the request path; ``method`` when equal. ``code``
    overrides the error code (10 for a permission, 80008 for the rate limit), ``delay`` is for
    "slow", ``regain_minutes`` for the rate limits.
    """

    kind: FaultKind
    times: int | None = 1
    path: str | None = None
    method: str | None = None
    code: int | None = None
    delay: float = 0.0
    regain_minutes: int = 15

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path in path) and (self.method is None or self.method == method)


@dataclass
class Call:
    """One request, logged as it arrives; ``status`` is filled in when the answer starts."""

    method: str
    path: str
    status: int | None = None


@dataclass(frozen=True)
class Usage:
    """One BUC usage reading: percentages of the hourly quota, and minutes until calls are allowed again."""

    call_count: int
    total_time: int
    total_cputime: int
    regain_minutes: int
    throttled: bool


@dataclass
class Grant:
    token: FakeToken
    redirect_uri: str
    app_id: str
    created: float
    used: bool = False


@dataclass
class FakeGraphState:
    clock: Callable[[], float] = time.time
    app_hourly_limit: int = 100_000
    code_ttl_seconds: float = 600.0
    apps: dict[str, FakeApp] = field(default_factory=dict)
    tokens: dict[str, FakeToken] = field(default_factory=dict)
    wabas: dict[str, FakeWaba] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _waba_calls: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _app_calls: dict[str, deque[float]] = field(default_factory=dict)

    # -- building the world -------------------------------------------------------------------
    def add_app(self, app_id: str, secret: str, name: str = "wabawatch", **fields: object) -> FakeApp:
        """``fields``: ``business_id`` (None: no business owns the app) and ``business_name``."""
        with self.lock:
            app = self.apps[app_id] = FakeApp(id=app_id, secret=secret, name=name, **fields)  # type: ignore[arg-type]
            return app

    def add_waba(
        self, waba_id: str, name: str, *, phones: Iterable[FakePhone] = (), **fields: object
    ) -> FakeWaba:
        with self.lock:
            waba = FakeWaba(id=waba_id, name=name, phones=list(phones), **fields)  # type: ignore[arg-type]
            self.wabas[waba_id] = waba
            return waba

    def add_token(self, app_id: str, *, value: str | None = None, **fields: object) -> FakeToken:
        with self.lock:
            token = FakeToken(value=value or new_token(), app_id=app_id, **fields)  # type: ignore[arg-type]
            self.tokens[token.value] = token
            return token

    def subscribe(self, waba_id: str, app_id: str, override_callback_uri: str | None = None) -> None:
        with self.lock:
            self.wabas[waba_id].subscriptions[app_id] = FakeSubscription(app_id, override_callback_uri)

    def fail(self, kind: FaultKind, **options: object) -> Fault:
        with self.lock:
            fault = Fault(kind=kind, **options)  # type: ignore[arg-type]
            self.faults.append(fault)
            return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def reset(self) -> None:
        with self.lock:
            for collection in (
                self.apps,
                self.tokens,
                self.wabas,
                self.grants,
                self._waba_calls,
                self._app_calls,
            ):
                collection.clear()
            self.faults.clear()
            self.calls.clear()

    # -- used by the server -------------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
            return None

    def record(self, method: str, path: str) -> Call:
        with self.lock:
            call = Call(method, path)
            self.calls.append(call)
            return call

    def count_waba_call(self, app_id: str, waba: FakeWaba) -> Usage:
        """Counts one call against the app's hourly quota on this WABA, unless it is already used up."""
        with self.lock:
            now = self.clock()
            window = self._prune(self._waba_calls.setdefault((app_id, waba.id), deque()), now)
            limit = waba.limit()
            if len(window) >= limit:
                regain = math.ceil((window[0] + WINDOW_SECONDS - now) / 60)
                return Usage(100, 100, 100, max(regain, 1), throttled=True)
            window.append(now)
            percent = min(100, math.ceil(len(window) * 100 / limit))
            return Usage(percent, percent // 2, percent // 4, 0, throttled=False)

    def count_app_call(self, app_id: str) -> int:
        """Counts one call for the app; returns its usage in percent of its hourly quota."""
        with self.lock:
            window = self._prune(self._app_calls.setdefault(app_id, deque()), self.clock())
            window.append(self.clock())
            return min(100, math.ceil(len(window) * 100 / self.app_hourly_limit))

    def _prune(self, window: deque[float], now: float) -> deque[float]:
        while window and window[0] <= now - WINDOW_SECONDS:
            window.popleft()
        return window


def new_token() -> str:
    """Opaque like Meta's: variable length, starting with EAA."""
    return "EAA" + secrets.token_urlsafe(48)
