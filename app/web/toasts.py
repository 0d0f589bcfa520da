"""Short messages shown once on the next rendered page (kept in the signed session)."""

from __future__ import annotations

from typing import Literal

from starlette.requests import HTTPConnection

Level = Literal["info", "success", "error"]


def add(conn: HTTPConnection, message: str, level: Level = "info") -> None:
    pending = list(conn.session.get("toasts", []))
    pending.append({"level": level, "message": message})
    conn.session["toasts"] = pending[-5:]


def pop_all(conn: HTTPConnection) -> list[dict[str, str]]:
    if "session" not in conn.scope:
        return []
    found: list[dict[str, str]] = conn.session.pop("toasts", [])
    return found
