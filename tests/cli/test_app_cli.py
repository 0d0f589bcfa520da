"""``wabawatch app add``: the secret comes from standard input and is stored encrypted."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, text

from app.db.engine import Database
from app.meta.models import MetaApp
from app.settings import Settings
from tests.factories import Personas

SECRET = "fedcba9876543210fedcba9876543210"


async def run_cli(settings: Settings, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),
        "BASE_URL": "https://hooks.example.com",
        "ENV": "development",
    }
    cwd = Path(__file__).resolve().parents[2]
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


async def raw_secret(db: Database, app_id: str) -> str:
    async with db.read() as session:
        value = await session.scalar(
            text("SELECT app_secret FROM meta_apps WHERE app_id = :app_id"), {"app_id": app_id}
        )
    assert isinstance(value, str)
    return value


async def test_app_add_reads_the_secret_from_stdin_and_stores_it_encrypted(
    settings: Settings, db: Database, personas: Personas
) -> None:
    done = await run_cli(
        settings,
        "app",
        "add",
        "111222333444555",
        "--verify-token",
        "tok-1",
        "--org",
        "acme",
        stdin=SECRET + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "https://hooks.example.com/webhooks/whatsapp/111222333444555" in done.stdout
    assert SECRET not in done.stdout + done.stderr
    stored = await raw_secret(db, "111222333444555")
    assert SECRET not in stored
    assert stored.startswith("gAAAAA")
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "111222333444555"))
    assert app is not None
    assert app.app_secret == SECRET
    assert app.verify_token == "tok-1"
    assert app.org_id == personas.org.id


async def test_app_add_without_org_is_the_platform_app(settings: Settings, db: Database) -> None:
    done = await run_cli(settings, "app", "add", "999888777", "--verify-token", "tok-2", stdin=SECRET + "\n")
    assert done.returncode == 0, done.stderr
    assert "for the platform" in done.stdout
    async with db.read() as session:
        app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "999888777"))
    assert app is not None
    assert app.org_id is None


async def test_app_add_without_a_secret_on_stdin_fails_in_words(settings: Settings, db: Database) -> None:
    done = await run_cli(settings, "app", "add", "999888777", "--verify-token", "tok-2", stdin="")
    assert done.returncode == 1
    assert "App secret is required on standard input" in done.stderr
    async with db.read() as session:
        assert await session.scalar(select(MetaApp)) is None


async def test_app_add_of_an_app_another_org_registered_is_refused(
    settings: Settings, db: Database, personas: Personas
) -> None:
    first = await run_cli(
        settings, "app", "add", "555", "--verify-token", "t", "--org", "bravo", stdin=SECRET + "\n"
    )
    assert first.returncode == 0, first.stderr
    second = await run_cli(
        settings, "app", "add", "555", "--verify-token", "t", "--org", "acme", stdin="other\n"
    )
    assert second.returncode == 1
    assert "already registered" in second.stderr
    assert "bravo" not in second.stderr


async def test_app_add_sets_keeps_and_removes_the_login_configuration_id(
    settings: Settings, db: Database
) -> None:
    async def config_id() -> str | None:
        async with db.read() as session:
            app = await session.scalar(select(MetaApp).where(MetaApp.app_id == "999888777"))
        assert app is not None
        return app.login_config_id

    args = ("app", "add", "999888777", "--verify-token", "tok-2")
    done = await run_cli(settings, *args, "--login-config-id", "123456789012", stdin=SECRET + "\n")
    assert done.returncode == 0, done.stderr
    assert "login configuration id: 123456789012" in done.stdout
    assert await config_id() == "123456789012"
    kept = await run_cli(settings, *args, stdin=SECRET + "\n")
    assert kept.returncode == 0, kept.stderr
    assert await config_id() == "123456789012"
    removed = await run_cli(settings, *args, "--login-config-id", "", stdin=SECRET + "\n")
    assert removed.returncode == 0, removed.stderr
    assert await config_id() is None


async def test_app_add_refuses_a_login_configuration_id_that_is_not_digits(
    settings: Settings, db: Database
) -> None:
    done = await run_cli(
        settings,
        "app",
        "add",
        "999888777",
        "--verify-token",
        "tok-2",
        "--login-config-id",
        "abc",
        stdin=SECRET + "\n",
    )
    assert done.returncode == 1
    assert "The login configuration id is the number Meta shows" in done.stderr
    async with db.read() as session:
        assert await session.scalar(select(MetaApp)) is None
