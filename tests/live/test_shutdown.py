"""A server stopped (SIGTERM) while a browser holds an event stream open ends the stream and
exits promptly: uvicorn waits for open connections, so a stream that never ended would hang it."""

from __future__ import annotations

import asyncio
import time

import httpx2
import pytest

from tests.factories import Personas, login
from tests.support.live import SSEReader
from tests.support.live_server import start_server, wait_until_healthy


async def test_sigterm_with_a_stream_open_ends_it_and_the_server_exits(
    database_url: str, personas: Personas, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start_server(database_url, tmp_path_factory.mktemp("shutdown"), worker=False)
    try:
        wait_until_healthy(server)
        async with httpx2.AsyncClient(base_url=server.url, timeout=10) as browser:
            await login(browser, personas.viewer)
            async with browser.stream("GET", "/o/acme/events/stream") as response:
                sse = SSEReader(response)
                await asyncio.wait_for(sse.live.wait(), 10)
                started = time.monotonic()
                server.process.terminate()
                with pytest.raises(EOFError):
                    await sse.next(timeout=8)
                await sse.close()
        assert await asyncio.to_thread(server.process.wait, 8) is not None
        assert time.monotonic() - started < 8
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(5)
