"""Browser tests: the real app under uvicorn in a subprocess, driven by Playwright on Debian's Chromium.

The server uses the run's test database (the schema is already at head), so the usual per-test
emptying of tables applies to what the browser tests create. Server, provider and browser live
for this package only, and the server runs no job worker, so later tests are left alone.

Playwright's *async* API is used, on pytest-asyncio's session loop: the Chromium fixtures
(``chromium``, ``watched_page``, ``problems``) are tests/support/browser.py's, registered here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.browser import browser_type_launch_args, chromium, problems, watched_page
from tests.support.fake_graph import fake_graph, fake_graph_server
from tests.support.live_server import ROOT, LiveServer, wait_until_healthy
from tests.support.oidc_provider import running_provider
from tests.support.ports import free_port
from tests.support.settings import TEST_KEY

__all__ = [
    "browser_type_launch_args",
    "chromium",
    "fake_graph",
    "fake_graph_server",
    "problems",
    "watched_page",
]


@pytest.fixture(scope="package")
def sso_provider() -> Iterator[str]:
    """The OpenID provider's base URL. Reached as ``localhost`` while the app is ``127.0.0.1``, so
    the round trip is cross-site for the browser, as with a real provider (SameSite=Lax matters)."""
    with running_provider() as port:
        yield f"http://localhost:{port}"


@pytest.fixture(scope="package")
def live_server(
    database_url: str, sso_provider: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENV": "development",
        "SECRET_KEY": "browser-test-secret-key-0123456789-abcdefgh",
        "ENCRYPTION_KEYS": TEST_KEY,
        "BASE_URL": url,
        "PASSWORD_HASH_FAST": "true",
        "SIGNUP_ENABLED": "true",
        # The server lives for the whole run: its own worker would take jobs that later tests enqueue.
        "WORKER_IN_PROCESS": "false",
        "OIDC_DISCOVERY_URL": f"{sso_provider}/.well-known/openid-configuration",
        "OIDC_CLIENT_ID": "wabawatch-browser",
        "OIDC_CLIENT_SECRET": "browser-client-secret",
        "OIDC_PROVIDER_NAME": "Example ID",
    }
    env.pop("SMTP_URL", None)
    log = tmp_path_factory.mktemp("live") / "uvicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(url=url, env=env, process=process, log=log)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
