"""Liveness and readiness, as a load balancer or orchestrator asks for them."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2

from app.db.migrate import alembic_config, head_revision, upgrade_head
from app.settings import Settings
from tests.factories import running_app


async def test_healthz_answers_while_the_process_lives(client: httpx2.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_at_head(client: httpx2.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "schema": "ok", "worker": "ok"},
        "pending_lag_seconds": 0,
    }


async def test_readyz_says_why_it_is_not_ready_until_the_schema_is_at_head(
    settings: Settings, tmp_path: Path
) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    head = head_revision(url)
    async with running_app(settings, database_url=url) as client:
        empty = await client.get("/readyz")
        assert empty.status_code == 503
        assert empty.json()["status"] == "not ready"
        assert empty.json()["checks"]["schema"] == f"at nothing, head is {head}: run `wabawatch db upgrade`"
        assert (await client.get("/healthz")).status_code == 200

        await anyio.to_thread.run_sync(command.upgrade, alembic_config(url), "0001")
        behind = await client.get("/readyz")
        assert behind.status_code == 503
        assert behind.json()["checks"]["schema"].startswith("at 0001, head is")

        await anyio.to_thread.run_sync(upgrade_head, url)
        assert (await client.get("/readyz")).status_code == 200


async def test_readyz_reports_an_unreachable_database(settings: Settings) -> None:
    # Nothing listens on port 1 of the loopback address: the connection is refused at once.
    async with running_app(settings, database_url="postgresql://127.0.0.1:1/wabawatch") as client:
        response = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["database"].startswith("unreachable: ")
