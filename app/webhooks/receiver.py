"""Meta's callback, ``GET|POST /webhooks/whatsapp/{app_id}``: a plain ASGI app on the hot path.

No session, CSRF or page middleware runs here. GET answers the subscription handshake. POST checks
size, then ``X-Hub-Signature-256`` over the raw body bytes in constant time, and hands the body to
the group-commit writer; the answer is 200 only after the commit (400 for signed non-JSON, which is
stored too), 503 whenever the database did not take it, so that a 200 always means "stored".
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import Message, Receive, Scope, Send

from app.lib.timeutil import utcnow
from app.meta import service as meta_service
from app.meta.app_cache import AppCache, KnownApp, Missing
from app.web.logs import request_id, request_id_for
from app.web.services import Services
from app.webhooks import counters
from app.webhooks.models import DeliveryStatus
from app.webhooks.mtls import VERIFY_HEADER, ClientCertCheck
from app.webhooks.store import BatchStore, open_batch_store
from app.webhooks.writer import GroupCommitWriter, Overloaded

log = logging.getLogger(__name__)

PATH_RE = re.compile(r"^/webhooks/whatsapp/([A-Za-z0-9_.-]{1,64})/?$")
SIGNATURE_PREFIX = "sha256="
# Hashing and parsing a body this large would stall every other request; do it in a thread.
THREAD_THRESHOLD = 256 * 1024


@dataclass(frozen=True, slots=True)
class Inspection:
    signed: bool
    sha256: str
    is_json_object: bool


def _is_json_object(body: bytes) -> bool:
    """JSON is UTF-8 (RFC 8259), decoded strictly: ``json.loads`` of bytes would also take an encoded
    surrogate (``\\xed\\xa0\\x80``), text no database can store."""
    try:
        return isinstance(json.loads(body.decode("utf-8")), dict)
    except (ValueError, RecursionError):
        return False


def inspect(secret: bytes, body: bytes, signature: str) -> Inspection:
    """Checks ``signature`` (the header's value) over the raw bytes, then whether they are JSON."""
    if not signature.startswith(SIGNATURE_PREFIX):
        return Inspection(False, "", False)
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    given = signature[len(SIGNATURE_PREFIX) :].strip().lower()
    signed = hmac.compare_digest(expected.encode(), given.encode("ascii", "replace"))
    if not signed:
        return Inspection(False, "", False)
    return Inspection(True, hashlib.sha256(body).hexdigest(), _is_json_object(body))


@dataclass(slots=True)
class DeliveryHeaders:
    content_length: str | None = None
    signature: str | None = None
    request_id: bytes | None = None
    client_verify: bool = False  # whether a proxy's client-certificate verdict came with it


def _delivery_headers(scope: Scope) -> DeliveryHeaders:
    """What the receiver needs of the headers, in one pass over them (the first of repeats)."""
    found = DeliveryHeaders()
    for key, value in scope["headers"]:
        if key == b"content-length" and found.content_length is None:
            found.content_length = value.decode("latin-1")
        elif key == b"x-hub-signature-256" and found.signature is None:
            found.signature = value.decode("latin-1")
        elif key == b"x-request-id" and found.request_id is None:
            found.request_id = value
        elif key == VERIFY_HEADER:
            found.client_verify = True
    return found


COMMON_HEADERS = (
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
)
# "Stored", the answer to nearly every request, has no body (so no content headers): Meta reads only
# the status, and an empty body spares the server a second write per request.
STORED_LENGTH = (b"content-length", b"0")
EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}


@dataclass(slots=True)
class Reply:
    """How a request is answered: every answer carries its request id."""

    send: Send
    request_id: tuple[bytes, bytes]

    async def text(self, status: int, text: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        body = text.encode()
        await self.send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    *COMMON_HEADERS,
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                    self.request_id,
                ],
            }
        )
        await self.send({"type": "http.response.body", "body": body})

    async def stored(self) -> None:
        await self.send(
            {"type": "http.response.start", "status": 200, "headers": [STORED_LENGTH, self.request_id]}
        )
        await self.send(EMPTY_BODY)

    async def unavailable(self) -> None:
        await self.text(503, "Service Unavailable", ((b"retry-after", b"5"),))


class TooLarge(Exception):
    pass


class Disconnected(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body; stops reading as soon as it grows past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise TooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


# Told the app's primary key once a handshake was recorded (the web app sets it to tell open pages).
HandshakeHook = Callable[[int], Awaitable[None]]


class WebhookReceiver:
    """Started and stopped by the web app's lifespan (``start``/``stop``); 503 until started."""

    def __init__(self) -> None:
        self.on_handshake: HandshakeHook | None = None
        self._services: Services | None = None
        self.apps: AppCache | None = None
        self.writer: GroupCommitWriter | None = None
        self.counters: counters.RejectionCounter | None = None
        self._store: BatchStore | None = None
        self._max_body = 0
        self._client_cert: ClientCertCheck | None = None
        self._cert_observer: ClientCertCheck | None = None

    async def start(self, services: Services) -> None:
        self._services = services
        self._max_body = services.settings.webhook_max_body_bytes
        self._client_cert = ClientCertCheck.from_settings(services.settings)
        self._cert_observer = ClientCertCheck.observer(services.settings)
        self.apps = AppCache(services.db)
        apps = self.apps
        self._store = open_batch_store(
            services.settings.database_url, sqlite_synchronous=services.settings.sqlite_synchronous
        )
        self.writer = GroupCommitWriter(
            self._store,
            on_commit=services.intake_wakeup.set,
            on_failure=lambda: apps.invalidate(),
            writers=self._store.writers,
        )
        self.writer.start()
        self.counters = counters.RejectionCounter(services.db)
        self.counters.start()

    async def stop(self) -> None:
        if self.writer is not None:
            await self.writer.stop()
        if self.counters is not None:
            try:
                await self.counters.stop()
            except Exception as exc:
                log.error("webhook rejection counters lost at shutdown (%s)", type(exc).__name__)
        if self._store is not None:
            await self._store.close()
        self.writer = None
        self.counters = None
        self._store = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = _delivery_headers(scope)
        rid = request_id_for(headers.request_id)
        token = request_id.set(rid)  # for every log line written meanwhile
        try:
            await self._answer(scope, receive, Reply(send, (b"x-request-id", rid.encode())), headers)
        finally:
            request_id.reset(token)

    async def _answer(self, scope: Scope, receive: Receive, reply: Reply, headers: DeliveryHeaders) -> None:
        match = PATH_RE.match(scope["path"])
        if match is None:
            await reply.text(404, "Not Found")
            return
        method = scope["method"]
        if method not in ("GET", "POST"):
            await reply.text(405, "Method Not Allowed", ((b"allow", b"GET, POST"),))
            return
        if self.apps is None or self.writer is None or self.counters is None:
            await reply.unavailable()
            return
        app_id = match.group(1)
        try:
            found = self.apps.cached(app_id)
            app = await self.apps.get(app_id) if isinstance(found, Missing) else found
        except Exception as exc:
            log.error("webhook for app %s: app lookup failed (%s); answered 503", app_id, type(exc).__name__)
            await reply.unavailable()
            return
        if app is None:
            await reply.text(404, "Not Found")
        elif method == "GET":
            await self._handshake(scope, reply, app)
        else:
            await self._delivery(scope, receive, reply, app, headers)

    async def _handshake(self, scope: Scope, reply: Reply, app: KnownApp) -> None:
        params = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        mode = params.get("hub.mode", [""])[0]
        token = params.get("hub.verify_token", [""])[0]
        challenge = params.get("hub.challenge", [None])[0]
        token_ok = hmac.compare_digest(token.encode(), app.verify_token)
        if mode != "subscribe" or not token_ok or challenge is None:
            log.warning("webhook handshake for app %s refused", app.app_id)
            await reply.text(403, "Forbidden")
            return
        await self._record_handshake(app)
        await reply.text(200, challenge)

    async def _record_handshake(self, app: KnownApp) -> None:
        """Best effort: the handshake is valid whether or not the time is recorded."""
        assert self._services is not None
        try:
            async with self._services.db.transaction() as session:
                await meta_service.record_handshake(session, app_pk=app.pk)
        except Exception as exc:
            log.error("webhook handshake for app %s: time not recorded (%s)", app.app_id, type(exc).__name__)
            return
        if self.on_handshake is not None:
            try:
                await self.on_handshake(app.pk)
            except Exception as exc:
                log.error("webhook handshake for app %s: pages not told (%s)", app.app_id, type(exc).__name__)

    def _client(self, scope: Scope) -> str:
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    async def _refuse(self, scope: Scope, reply: Reply, app: KnownApp, reason: str) -> None:
        """Counted (in memory, flushed about once a second) and answered; nothing else is kept."""
        assert self.counters is not None
        self.counters.add(app_id=app.app_id, app_pk=app.pk, reason=reason, client=self._client(scope))
        if reason == counters.TOO_LARGE:
            await reply.text(413, "Payload Too Large", ((b"connection", b"close"),))
        else:
            await reply.text(401, "Unauthorized")

    async def _delivery(
        self, scope: Scope, receive: Receive, reply: Reply, app: KnownApp, headers: DeliveryHeaders
    ) -> None:
        assert self.writer is not None
        if self._client_cert is not None and not self._client_cert.verified(scope):
            # WEBHOOK_REQUIRE_CLIENT_CERT: only via the proxy that verified Meta's certificate.
            assert self.counters is not None
            self.counters.add(
                app_id=app.app_id, app_pk=app.pk, reason="client_cert", client=self._client(scope)
            )
            await reply.text(403, "Forbidden")
            return
        declared, signature = headers.content_length, headers.signature
        if declared is not None and declared.strip().isdigit() and int(declared) > self._max_body:
            await self._refuse(scope, reply, app, counters.TOO_LARGE)  # without reading the body
            return
        try:
            body = await read_body(receive, self._max_body)
        except TooLarge:
            await self._refuse(scope, reply, app, counters.TOO_LARGE)
            return
        except Disconnected:
            return
        if not signature:
            await self._refuse(scope, reply, app, counters.MISSING_SIGNATURE)
            return
        if len(body) > THREAD_THRESHOLD:
            result = await asyncio.to_thread(inspect, app.secret, body, signature)
        else:
            result = inspect(app.secret, body, signature)
        if not result.signed:
            await self._refuse(scope, reply, app, counters.BAD_SIGNATURE)
            return
        status = DeliveryStatus.PENDING if result.is_json_object else DeliveryStatus.INVALID_JSON
        try:
            stored = await self.writer.submit(
                app_pk=app.pk,
                body=body,
                sha256=result.sha256,
                status=status,
                received_at=utcnow(),
                # No verdict header, no verdict: what the observer would also say, but only after
                # parsing the client's address (a sixth of the receiver's own time per request).
                client_cert_verified=self._cert_observer.verdict(scope)
                if self._cert_observer and headers.client_verify
                else None,
            )
        except Overloaded:
            stored = False
        if not stored:
            await reply.unavailable()
        elif status == DeliveryStatus.INVALID_JSON:
            await reply.text(400, "The body is not a JSON object; it was kept for inspection.")
        else:
            await reply.stored()
