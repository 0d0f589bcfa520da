"""Test harness: the whole suite runs on SQLite (``--db sqlite``) or PostgreSQL (``--db postgresql``).

The schema is built once per run by ``alembic upgrade head``; every test starts from empty tables.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import psycopg
import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.db.migrate import upgrade_head
from app.main import Dispatcher, create_app
from app.meta.models import MetaApp
from app.schema import Base
from app.settings import Settings
from tests.factories import Personas, create_meta_app, make_personas
from tests.support.clients import new_client
from tests.support.settings import make_settings
from tests.support.smtp import Inbox, smtp_server

DEFAULT_PG = "postgresql://127.0.0.1:5432/test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", choices=["sqlite", "postgresql"], default="sqlite", help="database to test against"
    )


def reset_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.config.getoption("--db")
    return kind


@pytest.fixture(scope="session")
def database_url(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if db_kind == "postgresql":
        url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)
        reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    upgrade_head(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Dispatcher]:
    application = create_app(settings)
    async with application.web.router.lifespan_context(application.web):
        yield application


@pytest.fixture(scope="session")
def db(app: Dispatcher) -> Database:
    found: Database = app.state.services.db
    return found


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "db" not in request.fixturenames:
        return
    database: Database = request.getfixturevalue("db")
    # DELETE, children first: on PostgreSQL a TRUNCATE of every table costs 100+ ms per test,
    # a DELETE of a handful of rows a few ms. Ids keep growing across tests; nothing relies on them.
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with database.engine.begin() as conn:
        for name in tables:
            await conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
async def client(app: Dispatcher, db: Database) -> AsyncIterator[httpx2.AsyncClient]:
    async with new_client(app) as c:
        yield c


@pytest.fixture
async def personas(db: Database, settings: Settings) -> Personas:
    return await make_personas(db)


@pytest.fixture
async def meta_app(db: Database) -> MetaApp:
    """The test Meta app (tests/support/meta_app.py's id and secret), owned by the platform."""
    return await create_meta_app(db)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on loopback that keeps what it receives."""
    with smtp_server() as running:
        yield running


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
