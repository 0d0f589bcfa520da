from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.graph.client import GraphClient
from tests.support.fake_graph import VERSION, FakeGraph, fake_graph, fake_graph_server

__all__ = ["fake_graph", "fake_graph_server"]


@pytest.fixture
async def graph(fake_graph: FakeGraph) -> AsyncIterator[GraphClient]:
    """A client of the fake with quick retries and a short timeout."""
    async with GraphClient(base_url=fake_graph.url, version=VERSION, backoff=0.01, timeout=2) as client:
        yield client
