"""Run the ``wabawatch`` command: the installed script in a child process, or ``main`` in this one."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from tests.support.settings import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
# The console script that `pip install` made, next to this interpreter: what operators run.
COMMAND = Path(sys.executable).parent / "wabawatch"


def wabawatch(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(ROOT),
        "ENCRYPTION_KEYS": TEST_KEY,
        "PASSWORD_HASH_FAST": "true",
    }
    return subprocess.run(
        [str(COMMAND), *args],
        input=stdin,
        env={**base, **(env or {})},
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class Outcome:
    status: int
    stdout: str
    stderr: str


async def run_main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    env: dict[str, str],
    stdin: str = "",
) -> Outcome:
    """``app.cli.main`` in this process (no interpreter start-up), in a thread with its own event
    loop, with the environment and standard input it would get from a shell."""
    from app.cli import main
    from app.settings import get_settings

    for name, value in {"ENCRYPTION_KEYS": TEST_KEY, "PASSWORD_HASH_FAST": "true", **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    get_settings.cache_clear()
    try:
        status = await anyio.to_thread.run_sync(main, list(args))
    finally:
        get_settings.cache_clear()
    captured = capsys.readouterr()
    return Outcome(status, captured.out, captured.err)
