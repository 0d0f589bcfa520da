"""Browser tests: the real app under uvicorn in a subprocess, driven by Playwright on Debian's Chromium.

The server uses the run's test database (the schema is already at head), so the usual per-test
emptying of tables applies to what the browser tests create. Server, provider and browser live
for this package only, and the server runs no job worker, so later tests are left alone.

Playwright's *async* API is used, on pytest-asyncio's session loop. pytest-playwright's sync
fixtures (``page``, ``browser``) do not mix with that loop: once the sync driver has started, the
session loop and ``asyncio.run`` (Alembic, async fixtures) refuse to run ("cannot be called from a
running event loop"). So the fixtures here avoid those names; only ``browser_type_launch_args`` is
taken from pytest-playwright (so ``--headed`` and ``--slowmo`` still work).

Every page is watched: a console error, an uncaught exception or a Content-Security-Policy
violation fails the test (``watched_page`` checks on teardown; tests may also check earlier).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

from tests.support.oidc_provider import running_provider
from tests.support.settings import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WABAWATCH = Path(sys.executable).with_name("wabawatch")  # the installed console script
PASSWORD = "browser-password-1"
# Runs in every document before its own scripts; Playwright injects it past the page's CSP.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


OFF_MACHINE = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    async def cli(self, *args: str, stdin: str = "") -> str:
        """Run the installed ``wabawatch`` command against the live server's database."""
        process = await asyncio.create_subprocess_exec(
            str(WABAWATCH),
            *args,
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
        assert process.returncode == 0, err.decode()
        return out.decode()

    async def create_user(self, email: str, *, org: str, role: str = "owner") -> None:
        await self.cli("user", "create", email, "--org", org, "--role", role, stdin=PASSWORD + "\n")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


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
        _wait_until_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _wait_until_healthy(server: LiveServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"uvicorn exited with {server.process.returncode}:\n{server.log.read_text()}")
        try:
            if httpx2.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"uvicorn did not answer /healthz within {timeout}s:\n{server.log.read_text()}")


@pytest.fixture(scope="package")
async def chromium(browser_type_launch_args: dict[str, Any]) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(**browser_type_launch_args)
        yield browser
        await browser.close()


@dataclass
class PageProblems:
    messages: list[str] = field(default_factory=list)
    reported: bool = False

    def assert_none(self) -> None:
        if self.messages:
            self.reported = True
        assert not self.messages, "browser reported problems:\n" + "\n".join(self.messages)


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
async def watched_page(
    chromium: Browser, live_server: LiveServer, problems: PageProblems, db: object
) -> AsyncIterator[Page]:
    """A fresh browser context's page, watched; depending on ``db`` empties the tables afterwards."""
    context = await chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    await context.add_init_script(CSP_WATCH)
    # Nothing leaves the machine (the provider's page links a CDN stylesheet): answer it empty.
    await context.route(OFF_MACHINE, lambda route: route.fulfill(status=200, body=""))
    page = await context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.messages.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        problems.messages.append(f"pageerror: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    try:
        yield page
    finally:
        await context.close()
    if not problems.reported:  # a test that already failed on them is not failed twice
        problems.assert_none()
