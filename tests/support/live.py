"""Live updates: the test app served over real TCP (httpx2's ASGI transport buffers a
whole response, so a stream has to be read from a real server), an SSE reader, signed webhooks."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta

import httpx2
import uvicorn

from app.db.engine import Database
from app.lib.timeutil import utcnow
from app.simulator.payloads import PayloadFactory, SimWaba, meta_json_bytes
from app.tenancy.models import Organization
from app.wabas import service as wabas_service
from tests.factories import create_meta_app
from tests.support.meta_app import APP_ID, sign
from tests.support.ports import free_port

WABA = "102290129340398"
OTHER_WABA = "109876543210987"


@asynccontextmanager
async def served(app: object) -> AsyncIterator[str]:
    """The already-started test app behind uvicorn on loopback (no second lifespan)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), lifespan="off", log_level="warning")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@dataclass
class Message:
    event: str = "message"
    id: str | None = None
    data: str = ""


class SSEReader:
    """Reads messages (not pings) from a streaming response. A task parses the stream into a
    queue, so a read that times out loses nothing (cancelling ``aiter_lines`` would end it)."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response
        self.seen: list[Message] = []
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self.live = asyncio.Event()  # set by the server's ": live" comment, after any replay
        self._task = asyncio.create_task(self._parse())

    async def _parse(self) -> None:
        current, data = Message(), []
        try:
            async for line in self.response.aiter_lines():
                if line == "":
                    if data or current.id is not None or current.event != "message":
                        current.data = "\n".join(data)
                        self._queue.put_nowait(current)
                    current, data = Message(), []
                    continue
                if line == ": live":
                    self.live.set()
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                elif name == "id":
                    current.id = value
                elif name == "event":
                    current.event = value
        except httpx2.HTTPError:
            pass
        finally:
            self._queue.put_nowait(None)

    async def close(self) -> None:
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    async def next(self, timeout: float = 5.0) -> Message:
        message = await asyncio.wait_for(self._queue.get(), timeout)
        if message is None:
            self._queue.put_nowait(None)
            raise EOFError("stream ended")
        self.seen.append(message)
        return message

    async def rows(self, count: int, timeout: float = 5.0) -> list[Message]:
        """The next ``count`` row messages (named ones are skipped)."""
        found: list[Message] = []
        while len(found) < count:
            message = await self.next(timeout)
            if message.event == "message":
                found.append(message)
        return found

    async def silent_for(self, seconds: float) -> bool:
        """True when no row message arrives within ``seconds``."""
        try:
            while True:
                message = await self.next(seconds)
                if message.event == "message":
                    return False
        except TimeoutError:
            return True


async def register(db: Database, *wabas: tuple[Organization, str]) -> None:
    """One Meta app, and each (org, WABA id) registered on it."""
    meta_app = await create_meta_app(db)
    async with db.transaction() as session:
        for org, waba_id in wabas:
            await wabas_service.register_waba(session, org=org, app=meta_app, waba_id=waba_id, name="Live")


_sent = itertools.count(1)


def webhook_body(waba_id: str = WABA, field_name: str = "phone_number_quality_update") -> bytes:
    """A signed-ready body whose change is new (its entry time moves on a second per body, so
    Meta-style deduplication never merges two of them)."""
    n = next(_sent)
    at = utcnow().replace(microsecond=0) + timedelta(seconds=n)
    factory = PayloadFactory(random.Random(n), now=lambda: at)
    return meta_json_bytes(factory.envelope([factory.change(field_name, SimWaba.for_id(waba_id))]))


async def post_webhook(client: httpx2.AsyncClient, body: bytes) -> None:
    response = await client.post(
        f"/webhooks/whatsapp/{APP_ID}",
        content=body,
        headers={"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
