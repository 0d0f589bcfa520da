"""CSRF protection for every state-changing request of the web app.

The token lives in the signed session. It arrives either as the ``X-CSRF-Token`` header (HTMX
requests; ``hx-headers:inherited`` on <body> sets it once) or as the ``csrf_token`` form field.
Cross-site requests are refused by their Origin / Sec-Fetch-Site headers as well. The webhook
receiver is mounted outside this middleware: it is authenticated by Meta's HMAC signature.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "x-csrf-token"
FIELD = "csrf_token"
MAX_FORM_BYTES = 1024 * 1024

TOO_LARGE = "This form is too large to be accepted."
REJECTED = (
    "This form could not be accepted: its security token is missing or out of date, "
    "or it was sent from another site. Reload the page and try again."
)


def get_token(conn: HTTPConnection) -> str:
    token: str | None = conn.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        conn.session["csrf"] = token
    return token


def rotate_token(conn: HTTPConnection) -> None:
    """Called on sign-in and sign-out so a token seen before cannot be replayed after."""
    conn.session["csrf"] = secrets.token_urlsafe(32)


def _same_origin(headers: Headers, allowed_origins: set[str]) -> bool:
    if headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return origin in allowed_origins


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, *, base_url: str) -> None:
        self.app = app
        self.base_origin = _origin_of(base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        expected: str | None = request.session.get("csrf")
        allowed = {self.base_origin, _origin_of(str(request.base_url))}
        if not _same_origin(request.headers, allowed) or not expected:
            await self._reject(scope, receive, send, request)
            return
        supplied = request.headers.get(HEADER)
        replay = receive
        if supplied is None:
            buffered = await _buffer(receive)
            if buffered is None:
                await PlainTextResponse(TOO_LARGE, status_code=413)(scope, receive, send)
                return
            body, replay = buffered
            supplied = _form_token(request.headers.get("content-type", ""), body)
        if supplied is None or not hmac.compare_digest(supplied.encode(), expected.encode()):
            await self._reject(scope, replay, send, request)
            return
        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, request: Request) -> None:
        response: Response
        if request.headers.get("hx-request") == "true":
            response = HTMLResponse(
                f'<div id="toasts" hx-swap-oob="beforeend"><div class="toast toast-error" role="alert">'
                f"{REJECTED}</div></div>",
                status_code=403,
            )
        elif "text/html" in request.headers.get("accept", ""):
            response = HTMLResponse(
                f"<!doctype html><title>Request refused</title><h1>Request refused</h1><p>{REJECTED}</p>",
                status_code=403,
            )
        else:
            response = PlainTextResponse(REJECTED, status_code=403)
        await response(scope, receive, send)


async def _buffer(receive: Receive) -> tuple[bytes, Receive] | None:
    """The whole body, and a receive that replays it; None when it is over MAX_FORM_BYTES (a form
    that large is not ours, and passing on a cut body would corrupt it)."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _form_token(content_type: str, body: bytes) -> str | None:
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(FIELD)
        return values[0] if values else None
    if content_type.startswith("multipart/form-data"):
        marker = f'name="{FIELD}"'.encode()
        at = body.find(marker)
        if at < 0:
            return None
        start = body.find(b"\r\n\r\n", at)
        end = body.find(b"\r\n", start + 4)
        if start < 0 or end < 0:
            return None
        return body[start + 4 : end].decode("latin-1")
    return None
