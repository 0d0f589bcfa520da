"""``wabawatch simulate``: post correctly signed WABA notifications to a receiver, like Meta does.

Each POST is signed over the exact bytes sent (``X-Hub-Signature-256``). One line is printed per
POST (number, status, latency, what was in it) and a summary at the end; any refused delivery makes
the command fail, with the likely reason in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import statistics
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import httpx2

from app.simulator.payloads import FIELDS, PayloadFactory, SimWaba, meta_json_bytes, signature

FIELD_RE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
RETRIES = 20
MAX_IN_FLIGHT = 32
TIMEOUT = 30.0
DEFAULT_WABA_ID = "102290129340398"  # the WABA id of Meta's own documentation examples
REASONS = {
    400: "the receiver says the body is not a JSON object (it keeps it for inspection)",
    401: "signature refused: is the app secret right?",
    403: "forbidden: does a proxy in front require Meta's client certificate?",
    404: "not found: is the app id registered (`wabawatch app add`) and the URL the server's base URL?",
    405: "method not allowed: the URL does not point at the webhook receiver",
    413: "body too large for the receiver (WEBHOOK_MAX_BODY_BYTES)",
    503: "the receiver could not store the delivery (database down or overloaded); Meta would retry",
}


def reason_for(status: int) -> str:
    if status in REASONS:
        return REASONS[status]
    if status >= 500:
        return f"server error {status}: see the server's log"
    return f"refused with {status}: Meta retries anything but 200"


def webhook_url(url: str, app_id: str) -> str:
    """The callback URL: ``url`` as given when it already names a webhook path, else the base plus
    ``/webhooks/whatsapp/{app_id}``."""
    if "/webhooks/" in urlsplit(url).path:
        return url
    return url.rstrip("/") + f"/webhooks/whatsapp/{app_id}"


@dataclass
class Outcome:
    sent: int = 0
    accepted: int = 0
    changes: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.sent > 0 and not self.refused

    def summary(self) -> str:
        lines = [f"sent {self.sent} notification(s) with {self.changes} change(s): {self.accepted} accepted"]
        if self.latencies_ms:
            ordered = sorted(self.latencies_ms)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            lines.append(
                f"latency median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"
            )
        for reason, count in self.refused.items():
            lines.append(f"refused {count}x: {reason}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Body:
    data: bytes
    label: str
    changes: int


class Source:
    """What to send: the file's bytes as they are, one field, or the realistic mix."""

    def __init__(
        self,
        *,
        field_name: str | None = None,
        file_bytes: bytes | None = None,
        waba_ids: Sequence[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        self.field_name = field_name
        self.file_bytes = file_bytes
        self.wabas = [SimWaba.for_id(w) for w in (waba_ids or [DEFAULT_WABA_ID])]
        self.factory = PayloadFactory(rng)
        # Bytes sent lately: the same bytes again would be one delivery to the receiver (a duplicate).
        self._recent: deque[bytes] = deque(maxlen=1000)
        self._file_body = describe_file(file_bytes) if file_bytes is not None else None

    def next(self) -> Body:
        if self.file_bytes is not None:
            assert self._file_body is not None
            return self._file_body
        for _ in range(RETRIES):
            payload = self.factory.notification(self.wabas, self.field_name)
            data = meta_json_bytes(payload)
            if data not in self._recent:
                break
        self._recent.append(data)
        fields = [c["field"] for e in payload["entry"] for c in e["changes"]]
        return Body(data, label_of(fields), len(fields))


def label_of(fields: Sequence[str]) -> str:
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in Counter(fields).items())


def describe_file(data: bytes) -> Body:
    """The file's bytes unchanged, labelled with the fields it holds when it is a notification."""
    try:
        payload = json.loads(data)
        fields = [str(c.get("field")) for e in payload["entry"] for c in e["changes"]]
    except (ValueError, TypeError, KeyError, AttributeError):
        return Body(data, "file (not a notification)", 0)
    return Body(data, "file: " + label_of(fields), len(fields))


class Unreachable(Exception):
    """The server could not be reached at all: sending more is pointless."""


async def post_one(client: httpx2.AsyncClient, url: str, secret: str, body: bytes) -> tuple[int | str, float]:
    """The status, or in words why there is none (a timeout, a broken connection), and the latency
    in milliseconds. Raises Unreachable when no connection could be made."""
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature(secret, body)}
    started = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx2.ConnectError as exc:
        raise Unreachable(f"could not connect to {url}: is the server running?") from exc
    except httpx2.TimeoutException:
        return f"no answer within {TIMEOUT:g} s; Meta would retry", (time.perf_counter() - started) * 1000
    except httpx2.TransportError as exc:
        return f"connection broken ({type(exc).__name__}); Meta would retry", (
            time.perf_counter() - started
        ) * 1000
    return response.status_code, (time.perf_counter() - started) * 1000


async def run(
    *,
    url: str,
    app_id: str,
    secret: str,
    source: Source,
    count: int = 1,
    rate: float = 1.0,
    out: TextIO | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    outcome: Outcome | None = None,
) -> Outcome:
    """Sends ``count`` notifications (0 = until cancelled) at ``rate`` per second (0: one after
    another, as fast as the server answers).

    With a rate, POSTs start on schedule and overlap when the server is slower than the rate, up to
    ``MAX_IN_FLIGHT`` at once, like Meta's concurrent deliveries. Lines go to ``out`` (None: silent)
    in the order answers arrive. Stops once the server cannot be reached. ``outcome`` is filled as it
    goes, so a caller that is interrupted still has the figures.
    """
    target = webhook_url(url, app_id)
    outcome = outcome if outcome is not None else Outcome()
    interval = 1.0 / rate if rate > 0 else 0.0
    slots = asyncio.Semaphore(MAX_IN_FLIGHT if interval else 1)
    unreachable = asyncio.Event()

    async def deliver(client: httpx2.AsyncClient, number: int, body: Body) -> None:
        try:
            status, latency = await post_one(client, target, secret, body.data)
        except Unreachable as exc:
            outcome.sent += 1
            outcome.refused[str(exc)] += 1
            unreachable.set()
            _print(out, f"#{number} --- {exc}")
            return
        finally:
            slots.release()
        outcome.sent += 1
        outcome.changes += body.changes
        outcome.latencies_ms.append(latency)
        if status == 200:
            outcome.accepted += 1
            _print(out, f"#{number} 200 {latency:.1f} ms  {body.label} ({len(body.data)} bytes)")
            return
        reason = reason_for(status) if isinstance(status, int) else status
        outcome.refused[reason] += 1
        _print(
            out,
            f"#{number} {status if isinstance(status, int) else '---'} {latency:.1f} ms  {body.label}: {reason}",
        )

    started = time.monotonic()
    async with (
        httpx2.AsyncClient(transport=transport, timeout=TIMEOUT) as client,
        asyncio.TaskGroup() as tasks,
    ):
        number = 0
        while (count == 0 or number < count) and not unreachable.is_set():
            delay = started + number * interval - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):  # woken early only to stop
                    await asyncio.wait_for(unreachable.wait(), delay)
            await slots.acquire()
            if unreachable.is_set():
                slots.release()
                break
            number += 1
            tasks.create_task(deliver(client, number, source.next()))
    return outcome


def _print(out: TextIO | None, line: str) -> None:
    if out is not None:
        print(line, file=out, flush=True)


def command(
    *,
    url: str,
    app_id: str,
    secret: str,
    field_name: str | None,
    file: str | None,
    waba_ids: Sequence[str],
    count: int,
    rate: float,
    out: TextIO,
    err: TextIO,
) -> int:
    """The CLI command: 0 when every notification was accepted, 1 otherwise (also on Ctrl-C)."""
    if field_name is not None and file is not None:
        raise ValueError("give a FIELD or --file, not both")
    if field_name is not None and not FIELD_RE.match(field_name):
        raise ValueError(f"{field_name!r} is not a webhook field name; known fields: {', '.join(FIELDS)}")
    if count < 0 or rate < 0:
        raise ValueError("--count and --rate cannot be negative")
    file_bytes = None
    if file is not None:
        try:
            file_bytes = Path(file).read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read {file}: {exc.strerror}") from exc
    source = Source(field_name=field_name, file_bytes=file_bytes, waba_ids=waba_ids)
    outcome = Outcome()
    try:
        asyncio.run(
            run(
                url=url,
                app_id=app_id,
                secret=secret,
                source=source,
                count=count,
                rate=rate,
                out=out,
                outcome=outcome,
            )
        )
    except KeyboardInterrupt:
        print("interrupted", file=out)
    print(outcome.summary(), file=out, flush=True)
    for reason, n in outcome.refused.items():
        print(f"wabawatch simulate: {n} refused: {reason}", file=err)
    if outcome.sent == 0:
        print("wabawatch simulate: nothing was sent", file=err)
    return 0 if outcome.ok else 1
