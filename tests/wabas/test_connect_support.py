"""Shared by the connect, sync and subscription tests (no tests here): the app's own Graph client
pointed at the fake Graph API, our Meta app as the fake knows it, and a connected WABA."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from app.db.engine import Database
from app.graph.client import GraphClient
from app.graph.usage import UsageTracker
from app.main import Dispatcher
from app.meta.models import MetaApp
from app.wabas.models import Waba
from tests.factories import Personas, create_meta_app, login, post_form
from tests.support.fake_graph import (
    APP_ID,
    APP_SECRET,
    VERSION,
    WABA_ID,
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


def connect_page(personas: Personas) -> str:
    return f"/o/{personas.org.slug}/wabas/connect"


async def connect_by_form(
    client: httpx2.AsyncClient,
    personas: Personas,
    token: str,
    *,
    waba_id: str = WABA_ID,
    app_id: str = APP_ID,
) -> httpx2.Response:
    page = connect_page(personas)
    return await post_form(
        client, page, {"app_id": app_id, "waba_id": waba_id, "access_token": token}, page=page
    )


async def connected(client: httpx2.AsyncClient, db: Database, personas: Personas, seeded: Seeded) -> Waba:
    """Signs the admin in and connects the seeded WABA through the page."""
    await login(client, personas.admin)
    response = await connect_by_form(client, personas, seeded.token.value)
    assert response.status_code == 303, response.text
    from sqlalchemy import select

    async with db.read() as session:
        waba = await session.scalar(select(Waba).where(Waba.waba_id == WABA_ID))
    assert waba is not None
    return waba
