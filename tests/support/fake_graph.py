"""Fixtures for the fake Graph API (``app.graph.fake``): one real server on loopback per test run.

Use them from a ``conftest.py`` with ``from tests.support.fake_graph import fake_graph, fake_graph_server``.
``fake_graph`` empties the fake's world before each test; ``FakeGraph.seed()`` builds the usual one.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from app.graph.fake.server import RunningFakeGraph, serve_fake_graph
from app.graph.fake.state import Call, FakeGraphState
from app.graph.fake.world import FakePhone, FakeToken, FakeWaba

APP_ID = "1000000000000042"
APP_SECRET = "fake-app-secret-do-not-log-0123"
OTHER_APP_ID = "1000000000000099"
WABA_ID = "102290129340398"
OTHER_WABA_ID = "224466880011223"
VERSION = "v24.0"
# One CA bundle load for the run; every plain-HTTP test client passes it as ``verify``.
SSL = ssl.create_default_context()


@dataclass
class Seeded:
    waba: FakeWaba
    token: FakeToken


@dataclass
class FakeGraph:
    url: str
    state: FakeGraphState

    def seed(self, *, phones: int = 2) -> Seeded:
        """Our app, a second app, one WABA with ``phones`` numbers, and a token that may manage it."""
        self.state.add_app(APP_ID, APP_SECRET, "wabawatch test app")
        self.state.add_app(OTHER_APP_ID, "other-secret", "Partner Inbox")
        numbers = [
            FakePhone(
                id=f"10658{i:010d}",
                display_phone_number=f"+1 631-555-{1000 + i:04d}",
                verified_name="Lucky Shrub",
            )
            for i in range(phones)
        ]
        waba = self.state.add_waba(WABA_ID, "Lucky Shrub (US)", phones=numbers)
        self.state.add_waba(OTHER_WABA_ID, "Someone else's WABA")
        token = self.state.add_token(APP_ID, waba_ids=(WABA_ID,))
        return Seeded(waba=waba, token=token)

    def calls(self) -> list[Call]:
        with self.state.lock:
            return list(self.state.calls)


@pytest.fixture(scope="session")
def fake_graph_server() -> Iterator[RunningFakeGraph]:
    with serve_fake_graph() as running:
        yield running


@pytest.fixture
def fake_graph(fake_graph_server: RunningFakeGraph) -> FakeGraph:
    fake_graph_server.state.reset()
    return FakeGraph(url=fake_graph_server.url, state=fake_graph_server.state)
