"""Alembic owns the schema: the migrations build it from nothing and match the models exactly."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import anyio
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, String

from app.db.engine import Database, make_engine
from app.db.migrate import alembic_config, head_revision, upgrade_head
from app.schema import Base
from tests.support.schema_diff import diff_against


async def test_the_models_and_the_migrations_agree(db: Database) -> None:
    assert await diff_against(db.engine, Base.metadata) == []


async def test_the_comparison_notices_drift(db: Database) -> None:
    """Proves the empty answer above means something on this engine: a changed copy of the models is
    reported column by column, type by type and index by index."""
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    users = drifted.tables["users"]
    users.append_column(Column("nickname", String(40), nullable=True))
    users.c.name.type = String(999)
    organizations = drifted.tables["organizations"]
    organizations.c.slug.type = Integer()
    login_attempts = drifted.tables["login_attempts"]
    for index in list(login_attempts.indexes):
        if index.name == "ix_login_attempts_email_created":
            login_attempts.indexes.discard(index)
    found = await diff_against(db.engine, drifted)
    kinds = {(entry[0] if isinstance(entry, tuple) else entry[0][0]) for entry in found}
    text = repr(found)
    assert "add_column" in kinds
    assert "nickname" in text
    assert "modify_type" in kinds
    assert "'users', 'name'" in text
    assert "'organizations', 'slug'" in text
    assert "ix_login_attempts_email_created" in text


def test_there_is_one_head_and_dated_migration_files() -> None:
    config = alembic_config("sqlite:///unused.sqlite3")
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    versions = Path(script.versions)
    for path in versions.glob("*.py"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{4}_[a-z0-9_]+\.py", path.name), path.name


async def test_upgrade_builds_a_brand_new_sqlite_file_that_matches_the_models(tmp_path: Path) -> None:
    target = tmp_path / "brand-new" / "wabawatch.sqlite3"
    url = f"sqlite:///{target}"
    await anyio.to_thread.run_sync(upgrade_head, url)
    with sqlite3.connect(target) as connection:
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        (fk_violations,) = connection.execute("SELECT count(*) FROM pragma_foreign_key_check").fetchone()
    assert version == head_revision(url)
    assert fk_violations == 0
    engine = make_engine(url)
    try:
        assert await diff_against(engine, Base.metadata) == []
    finally:
        await engine.dispose()
    # Running it again is a no-op, as the release step of every deploy does.
    await anyio.to_thread.run_sync(upgrade_head, url)
