"""DATABASE_URL as a person writes it → the async SQLAlchemy URL we connect with."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url

ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql+psycopg_async": "postgresql+psycopg_async",
}


class DatabaseURLError(ValueError):
    pass


def async_url(raw: str) -> URL:
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    driver = ASYNC_DRIVERS.get(scheme)
    if driver is None:
        raise DatabaseURLError(
            f"DATABASE_URL scheme {scheme or raw!r} is not supported; use sqlite:///path/to/file "
            "or postgresql://user@host/dbname"
        )
    url = make_url(driver + raw[len(scheme) :])
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise DatabaseURLError("DATABASE_URL must name a SQLite file (sqlite:///path/to/file.sqlite3)")
    return url


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: URL) -> None:
    if is_sqlite(url) and url.database:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
