"""The reads every timeline and overview page makes are answered by an index, whatever the table size.

These read the databases' own plans (EXPLAIN QUERY PLAN on SQLite; EXPLAIN on PostgreSQL with
sequential scans priced out, as a big table would price them) for the statements the pages run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest
from alembic import command
from sqlalchemy import func, inspect, literal_column, select, text

from app.db.engine import Database
from app.db.migrate import alembic_config, upgrade_head
from app.events.catalog import ACCOUNT_EVENTS_SQL
from app.events.filters import Filters
from app.events.models import Event
from app.events.queries import scoped_events
from app.schema import Base
from tests.support.query_plans import plan
from tests.support.schema_diff import diff_against


async def test_the_newest_event_id_of_an_org_is_one_index_probe(db: Database) -> None:
    """Where a page's live stream starts: without ``ix_events_org_id`` this read visits every event
    of the org (or walks the whole table backwards by id)."""
    found = await plan(db, select(func.max(Event.id)).where(Event.org_id == 7))
    if db.is_sqlite:
        assert "COVERING INDEX ix_events_org_id" in found
    else:
        assert "Index Only Scan" in found
        assert "ix_events_org_id" in found


async def test_open_counts_are_read_from_the_index_alone(db: Database) -> None:
    """The overview counts open events per WABA and severity without visiting the rows."""
    stmt = (
        select(Event.waba_id, Event.severity, func.count())
        .where(
            Event.org_id == 7,
            Event.severity >= literal_column("1"),
            Event.acknowledged_at.is_(None),
            text(ACCOUNT_EVENTS_SQL),  # only account events are counted
        )
        .group_by(Event.waba_id, Event.severity)
    )
    found = await plan(db, stmt)
    if db.is_sqlite:
        assert "COVERING INDEX ix_events_org_open" in found
    else:
        assert "Index Only Scan using ix_events_org_open" in found


async def test_the_first_page_walks_the_time_index_without_sorting(db: Database) -> None:
    """The new (org_id, id) index must not tempt the planner into sorting a whole org's events."""
    stmt = (
        select(Event).where(Event.org_id == 7).order_by(Event.occurred_at.desc(), Event.id.desc()).limit(51)
    )
    found = await plan(db, stmt)
    assert "ix_events_org_occurred" in found
    assert "TEMP B-TREE" not in found
    assert "Sort" not in found


async def test_the_default_page_walks_the_account_events_index_without_sorting(db: Database) -> None:
    """Account events newest first, however many message statuses the org has: a walk of the
    partial index, never a read past every status."""
    stmt = (
        scoped_events(org_id=7, where=Filters(account_only=True))
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(51)
    )
    found = await plan(db, stmt)
    assert "ix_events_org_account_occurred" in found
    assert "TEMP B-TREE" not in found
    assert "Sort" not in found


async def test_the_orgs_numbers_are_read_by_probing_the_phone_index(db: Database) -> None:
    """Partial phone search lists the org's numbers one index probe at a time (a skip scan)."""
    first = select(Event.phone).where(Event.org_id == 7, Event.phone > "1555").order_by(Event.phone).limit(1)
    found = await plan(db, first)
    assert "ix_events_org_phone_occurred" in found
    assert "TEMP B-TREE" not in found
    assert "Sort" not in found


def _first_page_plan_after_upgrade(path: Path, *, analyze_before: bool) -> str:
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "0006")
    with sqlite3.connect(path) as conn:  # foreign keys are off on a bare connection: rows alone do
        conn.executemany(
            "INSERT INTO events (seq, app_pk, org_id, field, kind, severity, occurred_at, received_at,"
            " summary, details) VALUES (?, 1, ?, 'security', 'pin_changed', 0, ?, ?, 's', '{}')",
            [
                (n, n % 2 + 1, f"2026-11-20 09:{n // 60:02d}:{n % 60:02d}", "2026-11-20 09:00:00")
                for n in range(400)
            ],
        )
        if analyze_before:
            conn.execute("ANALYZE")
    command.upgrade(alembic_config(url), "head")
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM events WHERE org_id = 1 ORDER BY occurred_at DESC, id DESC LIMIT 51"
        ).fetchall()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("analyze_before", [True, False], ids=["with-statistics", "without"])
def test_upgrading_a_sqlite_database_keeps_the_first_page_plan(
    db_kind: str, tmp_path: Path, analyze_before: bool
) -> None:
    """With statistics for the old indexes and none for ``ix_events_org_id``, SQLite would take the
    new index as the most selective and sort the org's events; migration 0007 gives it statistics
    too whenever the database has them."""
    if db_kind != "sqlite":
        pytest.skip("SQLite's planner statistics")
    found = _first_page_plan_after_upgrade(tmp_path / "upgraded.sqlite3", analyze_before=analyze_before)
    assert "ix_events_org_occurred" in found
    assert "TEMP B-TREE" not in found


async def test_0007_goes_down_and_up_again_and_matches_the_models(db: Database, database_url: str) -> None:
    """On PostgreSQL it builds the indexes CONCURRENTLY, outside the migration's transaction."""
    await anyio.to_thread.run_sync(command.downgrade, alembic_config(database_url), "0006")
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda c: {ix["name"] for ix in inspect(c).get_indexes("events")})
    assert "ix_events_org_id" not in names
    await anyio.to_thread.run_sync(upgrade_head, database_url)
    assert await diff_against(db.engine, Base.metadata) == []


async def test_0016_goes_down_and_up_again_and_matches_the_models(db: Database, database_url: str) -> None:
    """Only indexes change; the partial index's condition is the catalogue's own SQL text."""
    await anyio.to_thread.run_sync(command.downgrade, alembic_config(database_url), "0014")  # below 0016
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda c: {ix["name"] for ix in inspect(c).get_indexes("events")})
    assert "ix_events_org_account_occurred" not in names
    assert "ix_events_org_open" in names
    await anyio.to_thread.run_sync(upgrade_head, database_url)
    assert await diff_against(db.engine, Base.metadata) == []
    migration = next(
        Path(alembic_config(database_url).get_main_option("script_location") or "").glob(
            "versions/*_account_events_indexes.py"
        )
    )
    assert f'_ACCOUNT = "{ACCOUNT_EVENTS_SQL}"' in migration.read_text()
