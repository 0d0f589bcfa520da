"""Log lines as JSON objects (or plain text), each with the id of the request that caused it.

``RequestIdMiddleware`` takes a sane ``X-Request-ID`` from the proxy or makes one, keeps it in a
context variable for the request's duration and echoes it in the response; the log filter copies it
into every record, so any line logged while serving a request carries it ("-" outside requests).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str] = ContextVar("request_id", default="-")
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_HANDLER_NAME = "wabawatch"


class _RequestIds:
    """Request ids: 32 hex characters, a random prefix per process and a counter. Unique, which is
    all an id needs, and far cheaper than a uuid4 (a getrandom system call on every request)."""

    def __init__(self) -> None:
        self._restart()
        # A forked process must not repeat its parent's ids (checked at fork, not per request:
        # os.getpid() is a system call).
        os.register_at_fork(after_in_child=self._restart)

    def _restart(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


new_request_id = _RequestIds().new


def request_id_for(given: bytes | None) -> str:
    """The proxy's ``X-Request-ID`` when it is sane, otherwise a new id."""
    if given:
        text = given.decode("latin-1")
        if _SANE.match(text):
            return text
    return new_request_id()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", request_id.get()),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(fmt: str, level: int = logging.INFO) -> logging.Handler:
    """Installs (or replaces) the one stderr handler of the root logger; safe to call again."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return handler


class RequestIdMiddleware:
    """For the web app; the webhook receiver keeps its request ids itself (one fewer layer on the
    hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_for(next((v for k, v in scope["headers"] if k == b"x-request-id"), None))
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
