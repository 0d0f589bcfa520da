"""``require_member``: the org and the role come from the memberships the page already reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from sqlalchemy import event

from app.db.engine import Database
from tests.factories import Personas, login


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_a_member_page_reads_the_orgs_once(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.viewer)
    with statements(db) as seen:
        page = await client.get("/o/acme/events")
    assert page.status_code == 200
    assert "Acme Messaging" in page.text
    reads_of_orgs = [s for s in seen if "FROM organizations" in s]
    assert len(reads_of_orgs) == 1, seen  # the switcher's list, which also answers the membership


async def test_the_role_and_the_404_come_from_the_users_own_memberships(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.viewer)
    assert (await client.get("/o/bravo/events")).status_code == 404  # exists, not theirs
    assert (await client.get("/o/nowhere/events")).status_code == 404
    members = await client.get("/o/acme/members")
    assert members.status_code == 200
    assert "You are viewer" in (await client.get("/o/acme")).text
