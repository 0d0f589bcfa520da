"""Settings come from the environment under the contract's names; production refuses unsafe values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from app.db.engine import make_engine
from app.db.url import DatabaseURLError, async_url
from app.main import create_app
from app.settings import DEV_ENCRYPTION_KEY, InsecureSettingsError, Settings
from tests.support.cli import wabawatch
from tests.support.settings import TEST_KEY

STRONG_SECRET = "Zb3v0Qm9x7Lr2Tq8Wn5Kc1Hs6Jd4Fg0Ya9Ue7Ip3Oo2"


def production(**values: object) -> Settings:
    defaults: dict[str, object] = {"env": "production", "base_url": "https://dash.example.com"}
    return Settings(_env_file=None, **{**defaults, **values})  # type: ignore[call-arg]


def test_the_contract_names_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "DATABASE_URL": "postgresql://db.internal/wabawatch",
        "SECRET_KEY": STRONG_SECRET,
        "ENCRYPTION_KEYS": TEST_KEY,
        "BASE_URL": "https://dash.example.com/",
        "ENV": "production",
        "SMTP_URL": "smtp://mailer:pw@smtp.example.com:587",
        "GRAPH_API_BASE": "http://127.0.0.1:9999",
        "GRAPH_API_VERSION": "v99.0",
        "WEBHOOK_MAX_BODY_BYTES": "1234",
        "OIDC_DISCOVERY_URL": "https://id.example.com/.well-known/openid-configuration",
        "OIDC_CLIENT_ID": "wabawatch",
        "OIDC_CLIENT_SECRET": "oidc-secret",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "postgresql://db.internal/wabawatch"
    assert settings.secret_key.get_secret_value() == STRONG_SECRET
    assert settings.encryption_keys.get_secret_value() == TEST_KEY
    assert settings.base_url == "https://dash.example.com"
    assert settings.is_production
    assert settings.smtp_url is not None
    assert settings.smtp_url.get_secret_value() == values["SMTP_URL"]
    assert (settings.graph_api_base, settings.graph_api_version) == ("http://127.0.0.1:9999", "v99.0")
    assert settings.webhook_max_body_bytes == 1234
    assert settings.oidc_enabled
    settings.check_production()
    assert "oidc-secret" not in repr(settings)
    assert STRONG_SECRET not in repr(settings)


def test_production_refuses_the_default_secrets_and_names_what_to_set() -> None:
    with pytest.raises(InsecureSettingsError) as refused:
        production().check_production()
    message = str(refused.value)
    assert message.startswith("Refusing to start in production with insecure settings.")
    assert "SECRET_KEY" in message
    assert "ENCRYPTION_KEYS" in message
    assert "Fernet.generate_key()" in message


@pytest.mark.parametrize(
    ("values", "named", "not_named"),
    [
        ({"encryption_keys": SecretStr(TEST_KEY)}, "SECRET_KEY", "ENCRYPTION_KEYS"),
        ({"secret_key": SecretStr("short")}, "SECRET_KEY", "BASE_URL"),
        ({"secret_key": SecretStr(STRONG_SECRET)}, "ENCRYPTION_KEYS", "SECRET_KEY"),
        (
            {
                "secret_key": SecretStr(STRONG_SECRET),
                "encryption_keys": SecretStr(f"{TEST_KEY},{DEV_ENCRYPTION_KEY}"),
            },
            "ENCRYPTION_KEYS",
            "SECRET_KEY",
        ),
        (
            {
                "secret_key": SecretStr(STRONG_SECRET),
                "encryption_keys": SecretStr(TEST_KEY),
                "base_url": "http://x",
            },
            "BASE_URL",
            "ENCRYPTION_KEYS",
        ),
        (
            {
                "secret_key": SecretStr(STRONG_SECRET),
                "encryption_keys": SecretStr(TEST_KEY),
                "password_hash_fast": True,
            },
            "PASSWORD_HASH_FAST",
            "SECRET_KEY",
        ),
    ],
)
def test_production_names_only_what_is_wrong(values: dict[str, object], named: str, not_named: str) -> None:
    with pytest.raises(InsecureSettingsError) as refused:
        production(**values).check_production()
    assert named in str(refused.value)
    assert not_named not in str(refused.value)


def test_production_with_real_secrets_starts(tmp_path: Path) -> None:
    settings = production(
        secret_key=SecretStr(STRONG_SECRET),
        encryption_keys=SecretStr(TEST_KEY),
        database_url=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    )
    settings.check_production()
    assert create_app(settings).web is not None
    assert settings.secure_cookies


def test_the_app_refuses_to_be_built_in_production_with_defaults() -> None:
    with pytest.raises(InsecureSettingsError, match="SECRET_KEY"):
        create_app(production())


def test_the_serve_command_refuses_in_words_without_a_traceback(tmp_path: Path) -> None:
    result = wabawatch(
        "serve", env={"ENV": "production", "ENCRYPTION_KEYS": DEV_ENCRYPTION_KEY}, cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.startswith("wabawatch: Refusing to start in production")
    assert "SECRET_KEY" in result.stderr
    assert "ENCRYPTION_KEYS" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("raw", "driver"),
    [
        ("sqlite:///x.sqlite3", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///x.sqlite3", "sqlite+aiosqlite"),
        ("postgresql://u@db/wabawatch", "postgresql+asyncpg"),
        ("postgres://u:p@db:5433/wabawatch", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@db/wabawatch", "postgresql+asyncpg"),
        ("postgresql+psycopg://u@db/wabawatch", "postgresql+psycopg"),
    ],
)
def test_database_url_forms_map_to_async_drivers(raw: str, driver: str) -> None:
    url = async_url(raw)
    assert url.drivername == driver
    assert url.database in {"x.sqlite3", "wabawatch"}
    engine = make_engine(raw)  # builds the engine without connecting
    assert engine.dialect.is_async
    assert engine.url.drivername == driver


def test_postgres_url_keeps_its_credentials_port_and_query() -> None:
    url = async_url("postgres://alice:s%40cret@db.internal:6543/wabawatch?sslmode=require")
    assert (url.username, url.password, url.host, url.port) == ("alice", "s@cret", "db.internal", 6543)
    assert url.query == {"sslmode": "require"}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("mysql://u@db/wabawatch", "scheme 'mysql' is not supported"),
        ("postgresql+psycopg2://u@db/wabawatch", "scheme 'postgresql+psycopg2' is not supported"),
        ("wabawatch.sqlite3", "use sqlite:///path/to/file"),
        ("sqlite://", "must name a SQLite file"),
        ("sqlite:///:memory:", "must name a SQLite file"),
    ],
)
def test_bad_database_urls_get_a_clear_error(raw: str, says: str) -> None:
    with pytest.raises(DatabaseURLError, match="DATABASE_URL") as refused:
        async_url(raw)
    assert says in str(refused.value)


def test_a_bad_database_url_stops_the_cli_with_the_reason(tmp_path: Path) -> None:
    result = wabawatch("db", "upgrade", env={"DATABASE_URL": "mysql://u@db/wabawatch"}, cwd=tmp_path)
    assert result.returncode == 1
    assert "DATABASE_URL scheme 'mysql' is not supported" in result.stderr
    assert "Traceback" not in result.stderr


async def test_every_url_form_connects_to_the_test_database(db_kind: str, database_url: str) -> None:
    rest = database_url.split("://", 1)[1]
    schemes = (
        ["sqlite", "sqlite+aiosqlite"]
        if db_kind == "sqlite"
        else ["postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg"]
    )
    for scheme in schemes:
        engine = make_engine(f"{scheme}://{rest}")
        try:
            async with engine.connect() as connection:
                assert await connection.scalar(text("SELECT count(*) FROM alembic_version")) == 1
        finally:
            await engine.dispose()
