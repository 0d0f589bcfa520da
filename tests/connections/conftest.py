"""The connect, sync and subscription tests' fixtures: the fake Graph API, the app's own Graph
client pointed at it, our Meta app as the fake knows it, and the fake's usual world."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.db.engine import Database
from app.graph.client import GraphClient
from app.graph.usage import UsageTracker
from app.main import Dispatcher
from app.meta.models import MetaApp
from tests.factories import create_meta_app
from tests.support.fake_graph import (
    APP_ID,
    APP_SECRET,
    VERSION,
    FakeGraph,
    Seeded,
    fake_graph,
    fake_graph_server,
)

__all__ = ["fake_graph", "fake_graph_server"]


@pytest.fixture
def graph(app: Dispatcher, fake_graph: FakeGraph) -> Iterator[GraphClient]:
    """The web app's one Graph client, talking to the fake with quick retries and a fresh tracker."""
    client: GraphClient = app.state.services.graph
    saved = (client.base_url, client.version, client.usage, client.backoff, client.timeout)
    client.base_url, client.version, client.usage = fake_graph.url, VERSION, UsageTracker()
    client.backoff, client.timeout = 0.01, 2
    yield client
    client.base_url, client.version, client.usage, client.backoff, client.timeout = saved


@pytest.fixture
async def our_app(db: Database) -> MetaApp:
    """The platform's Meta app, with the id and secret the fake knows."""
    return await create_meta_app(db, app_id=APP_ID, secret=APP_SECRET, name="wabawatch test app")


@pytest.fixture
def seeded(fake_graph: FakeGraph) -> Seeded:
    return fake_graph.seed()
