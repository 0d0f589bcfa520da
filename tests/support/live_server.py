"""The real app under uvicorn in a subprocess, on the run's test database: the server itself, a
wait until it answers /healthz, and the installed ``wabawatch`` command run against its database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from tests.support.ports import free_port
from tests.support.settings import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
WABAWATCH = Path(sys.executable).with_name("wabawatch")  # the installed console script
# The password of the users LiveServer.create_user makes.
PASSWORD = "browser-password-1"


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


def wait_until_healthy(server: LiveServer, timeout: float = 30.0) -> None:
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


def start_server(database_url: str, log_dir: Path, *, worker: bool) -> LiveServer:
    """``uvicorn app.main:app`` in a subprocess on the test database (not yet waited for)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENV": "development",
        "SECRET_KEY": "live-test-secret-key-0123456789-abcdefghij",
        "ENCRYPTION_KEYS": TEST_KEY,
        "BASE_URL": url,
        "PASSWORD_HASH_FAST": "true",
        "WORKER_IN_PROCESS": "true" if worker else "false",
    }
    for name in ("SMTP_URL", "OIDC_DISCOVERY_URL"):
        env.pop(name, None)
    log = log_dir / f"uvicorn-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return LiveServer(url=url, env=env, process=process, log=log)
