"""``wabawatch serve`` and ``wabawatch demo`` bind their port before anything else: a port in use is
a one-line error at once, and the demo migrates, seeds and announces nothing it cannot serve."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.base import CommandError
from app.cli.demo import remove_sqlite_database
from tests.support.cli import wabawatch


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_port_in_use_is_refused_at_once_in_words(command: str, taken_port: int, tmp_path: Path) -> None:
    database = tmp_path / "demo.sqlite3"
    started = time.monotonic()
    done = wabawatch(command, "--port", str(taken_port), env={"DATABASE_URL": f"sqlite:///{database}"})
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"wabawatch: cannot listen on 127.0.0.1:{taken_port} (Address already in use); choose another with --port"
    )
    assert "running" not in done.stdout
    assert not database.exists()  # nothing migrated or seeded
    assert time.monotonic() - started < 15


def test_reset_removes_the_sqlite_demo_database_and_its_wal(tmp_path: Path) -> None:
    database = tmp_path / "demo.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").write_bytes(b"x")
    assert remove_sqlite_database(f"sqlite:///{database}") == str(database)
    assert list(tmp_path.iterdir()) == []
    assert remove_sqlite_database(f"sqlite:///{database}") is None  # nothing there: nothing to say


def test_reset_never_drops_a_postgresql_database() -> None:
    with pytest.raises(CommandError, match="only an SQLite demo database"):
        remove_sqlite_database("postgresql://127.0.0.1:5432/test")
