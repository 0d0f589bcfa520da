"""Run the installed ``wabawatch`` command in a child process with a clean, explicit environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_KEY

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
