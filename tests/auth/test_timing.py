"""Sign-in must not reveal, by its response time, whether an email has an account."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from app.auth import service
from app.db.engine import Database
from app.lib.passwords import PasswordHasherBox
from app.settings import Settings
from app.tenancy.models import User
from tests.factories import create_user


async def timed_failure(db: Database, settings: Settings, hasher: PasswordHasherBox, email: str) -> float:
    start = time.perf_counter()
    async with db.transaction() as session:
        with pytest.raises(service.AuthError, match="do not match an account"):
            await service.authenticate(
                session, settings, hasher, email=email, password="not-the-password", address="203.0.113.9"
            )
    return time.perf_counter() - start


async def test_an_unknown_email_costs_as_much_argon2_work_as_a_wrong_password(
    db: Database, settings: Settings
) -> None:
    # The production parameters (about 100 ms per hash here): the test suite's cheap ones hide the gap.
    hasher = PasswordHasherBox(fast=False)
    user = await create_user(db, email="known@example.com")
    async with db.transaction() as session:
        await session.execute(
            update(User)
            .where(User.id == user.id)
            .values(password_hash=await hasher.hash("the-real-password"))
        )
    await timed_failure(db, settings, hasher, "warm-up@example.com")
    known = min([await timed_failure(db, settings, hasher, "known@example.com") for _ in range(2)])
    unknown = min([await timed_failure(db, settings, hasher, f"nobody{n}@example.com") for n in range(2)])
    assert known > 0.02, "the production hasher should take measurable time"
    assert unknown > 0.6 * known, (
        f"unknown email answered in {unknown:.3f}s, a wrong password in {known:.3f}s"
    )
