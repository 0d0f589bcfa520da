"""The ``wabawatch`` command, run as a child process against the test database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.db.migrate import head_revision, upgrade_head
from app.tenancy.models import Membership, Organization, User
from tests.factories import Personas, login
from tests.support.cli import run_main, wabawatch

SECRET = "typed-on-stdin-only"
MonkeyPatch = pytest.MonkeyPatch
Capture = pytest.CaptureFixture[str]


async def membership(db: Database, email: str, slug: str) -> tuple[User, Organization, str] | None:
    async with db.read() as session:
        row = (
            await session.execute(
                select(User, Organization, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .join(Organization, Organization.id == Membership.org_id)
                .where(User.email == email, Organization.slug == slug)
            )
        ).first()
    return None if row is None else (row[0], row[1], row[2])


async def test_user_create_makes_the_org_and_the_owner_with_the_password_from_stdin(
    database_url: str, db: Database, client: httpx2.AsyncClient, tmp_path: Path
) -> None:
    result = wabawatch(
        "user", "create", "Boss@NewCo.example", "--org", "newco", "--role", "owner",
        env={"DATABASE_URL": database_url}, stdin=SECRET + "\n", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "created boss@newco.example as owner of newco"
    assert SECRET not in result.stdout + result.stderr
    found = await membership(db, "boss@newco.example", "newco")
    assert found is not None
    user, org, role = found
    assert (org.slug, role, user.email_verified, user.is_staff) == ("newco", "owner", True, False)
    assert user.password_hash is not None
    assert SECRET not in user.password_hash
    await login(client, user, SECRET)
    assert (await client.get("/o/newco")).status_code == 200


# The scenarios below run ``main`` in this process: the two above prove the installed script itself.


async def test_user_create_adds_a_staff_member_to_an_existing_org(
    database_url: str, db: Database, personas: Personas, monkeypatch: MonkeyPatch, capsys: Capture
) -> None:
    result = await run_main(
        monkeypatch, capsys, "user", "create", "helper@example.com", "--org", "acme", "--role", "viewer", "--staff",
        env={"DATABASE_URL": database_url}, stdin=SECRET + "\n",
    )  # fmt: skip
    assert result.status == 0, result.stderr
    assert result.stdout.strip() == "created helper@example.com as viewer of acme (staff)"
    found = await membership(db, "helper@example.com", "acme")
    assert found is not None
    assert (found[2], found[0].is_staff) == ("viewer", True)


async def test_user_create_for_an_existing_account_says_the_password_is_unchanged(
    database_url: str, db: Database, personas: Personas, monkeypatch: MonkeyPatch, capsys: Capture
) -> None:
    result = await run_main(
        monkeypatch, capsys, "user", "create", personas.outsider.email, "--org", "acme", "--role", "admin",
        env={"DATABASE_URL": database_url}, stdin="some-other-password\n",
    )  # fmt: skip
    assert result.status == 0, result.stderr
    assert "the existing password is unchanged" in result.stdout
    found = await membership(db, personas.outsider.email, "acme")
    assert found is not None
    assert found[2] == "admin"


async def test_user_create_refuses_an_org_without_owner_and_the_last_owners_demotion(
    database_url: str, db: Database, personas: Personas, monkeypatch: MonkeyPatch, capsys: Capture
) -> None:
    env = {"DATABASE_URL": database_url}
    args = ("user", "create", "new@example.com", "--org", "ghost-town", "--role", "admin")
    no_owner = await run_main(monkeypatch, capsys, *args, env=env, stdin=SECRET + "\n")
    assert no_owner.status == 1
    assert "its first member must be its owner (--role owner)" in no_owner.stderr
    demote = ("user", "create", personas.owner.email, "--org", "acme", "--role", "viewer")
    last_owner = await run_main(monkeypatch, capsys, *demote, env=env, stdin=SECRET + "\n")
    assert last_owner.status == 1
    assert "is the last owner of acme" in last_owner.stderr
    async with db.read() as session:
        assert await session.scalar(select(Organization).where(Organization.slug == "ghost-town")) is None
    found = await membership(db, personas.owner.email, "acme")
    assert found is not None
    assert found[2] == "owner"


async def test_user_create_refuses_a_weak_or_missing_password(
    database_url: str, db: Database, monkeypatch: MonkeyPatch, capsys: Capture
) -> None:
    args = ("user", "create", "weak@example.com", "--org", "weak", "--role", "owner")
    env = {"DATABASE_URL": database_url}
    weak = await run_main(monkeypatch, capsys, *args, env=env, stdin="short\n")
    assert weak.status == 1
    assert weak.stderr.strip() == "wabawatch: Use at least 10 characters."
    missing = await run_main(monkeypatch, capsys, *args, env=env, stdin="")
    assert missing.status == 1
    assert missing.stderr.strip() == "wabawatch: Password is required on standard input"
    async with db.read() as session:
        assert await session.scalar(select(User).where(User.email == "weak@example.com")) is None


def test_the_password_is_never_accepted_as_an_argument(tmp_path: Path) -> None:
    result = wabawatch(
        "user", "create", "x@example.com", "--org", "x", "--role", "owner", "--password", SECRET,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'never.sqlite3'}"}, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "unrecognized arguments: --password" in result.stderr
    assert not (tmp_path / "never.sqlite3").exists()


def test_db_upgrade_builds_the_schema_in_a_new_sqlite_file(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "fresh.sqlite3"
    url = f"sqlite:///{target}"
    result = wabawatch("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database is at the latest schema" in result.stdout
    with sqlite3.connect(target) as connection:
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (journal,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert version == head_revision(url)
    assert {"users", "organizations", "memberships", "webhook_deliveries", "events"} <= tables
    assert journal == "wal"
    again = wabawatch("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_python_dash_m_refuses_in_words_like_the_installed_script(tmp_path: Path) -> None:
    upgrade_head(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "user", "create", "a@example.com", "--org", "a", "--role", "owner"],
        input="short\n",
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "wabawatch: Use at least 10 characters."


async def test_a_database_without_the_schema_gets_told_to_upgrade(
    tmp_path: Path, monkeypatch: MonkeyPatch, capsys: Capture
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    args = ("user", "create", "a@example.com", "--org", "a", "--role", "owner")
    result = await run_main(monkeypatch, capsys, *args, env={"DATABASE_URL": url}, stdin=SECRET + "\n")
    assert result.status == 1
    assert result.stderr.startswith("wabawatch: the database refused the command (OperationalError")
    assert "run `wabawatch db upgrade`" in result.stderr
    assert "Traceback" not in result.stderr
