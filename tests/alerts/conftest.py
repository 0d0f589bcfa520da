"""Alert test harness: a real HTTP server standing in for Slack, settings that send mail to the real
SMTP server of the root conftest's ``inbox``, an org with a registered WABA, and a clock the test
moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from app.db.engine import Database
from app.meta.models import MetaApp
from app.settings import Settings
from app.wabas.models import Waba
from tests.factories import Personas, settings_with
from tests.support.alerts import Clock
from tests.support.rows import register
from tests.support.smtp import Inbox


@pytest.fixture(scope="session")
def slack_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def slack(slack_server: HTTPServer) -> Iterator[HTTPServer]:
    slack_server.clear()
    yield slack_server
    slack_server.clear()


@pytest.fixture
def alert_settings(settings: Settings, inbox: Inbox) -> Settings:
    return settings_with(
        settings,
        smtp_url=inbox.url,
        slack_allowed_hosts="hooks.slack.com,127.0.0.1,localhost",
        alerts_allow_loopback_targets=True,
        alerts_send_timeout_seconds=0.5,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def waba(db: Database, personas: Personas, meta_app: MetaApp) -> Waba:
    found, _ = await register(db, personas.org, meta_app, name="Acme <Main> & Co")
    return found
