"""Serve the fake Graph API under uvicorn in a background thread (tests, ``wabawatch demo``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from app.graph.fake.app import create_fake_graph
from app.graph.fake.state import FakeGraphState


@dataclass
class RunningFakeGraph:
    url: str
    state: FakeGraphState


@contextmanager
def serve_fake_graph(
    state: FakeGraphState | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningFakeGraph]:
    """Yields once the server accepts connections; port 0 takes a free one."""
    world = state or FakeGraphState()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_fake_graph(world), log_level="warning", lifespan="off", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-graph")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake Graph API did not start")
        time.sleep(0.01)
    try:
        yield RunningFakeGraph(url=f"http://{host}:{bound_port}", state=world)
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()
