"""Counting the statements a piece of code sends to the database, and keeping those that read a table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.db.engine import Database


@contextmanager
def statements(db: Database) -> Iterator[Counter[str]]:
    """Counts the statements sent to the database by their first word (SELECT, SAVEPOINT, …)."""
    seen: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen[statement.split(None, 1)[0].upper()] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


@contextmanager
def captured(db: Database, *, table: str) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs that read ``table`` and the UPDATEs of it (with their WITH clauses) sent to the database, each with its
    parameters as the driver got them (to ask the database for the plan of exactly what ran)."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        words = statement.lstrip()
        reads = words.startswith(("SELECT", "WITH")) and f"FROM {table}" in words
        if reads or f"UPDATE {table} " in words:
            seen.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", keep)
