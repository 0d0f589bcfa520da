"""A client of an app that is already running, through the ASGI transport."""

from __future__ import annotations

import httpx2

from app.main import Dispatcher


def new_client(app: Dispatcher) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver")
