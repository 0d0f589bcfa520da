"""The jobs table as a queue: enqueue with the cause, retries with backoff, leases, exactly once."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db.engine import Database, make_engine
from app.jobs.backoff import retry_delay
from app.jobs.models import Job
from app.jobs.queue import JobRunner, JobStatus, PermanentError, enqueue


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


async def jobs(db: Database) -> list[Job]:
    async with db.read() as session:
        return list(await session.scalars(select(Job).order_by(Job.id)))


async def add(db: Database, name: str, payload: dict[str, Any], **options: Any) -> int:
    async with db.transaction() as session:
        return (await enqueue(session, name, payload, **options)).id


async def test_a_job_runs_once_and_is_done(db: Database) -> None:
    seen: list[dict[str, Any]] = []

    async def record(_: Database, payload: dict[str, Any]) -> None:
        seen.append(payload)

    await add(db, "tests.record", {"event_id": 7})
    runner = JobRunner(db, {"tests.record": record})

    assert await runner.run_due() == 1
    assert await runner.run_due() == 0
    assert seen == [{"event_id": 7}]
    (job,) = await jobs(db)
    assert (job.status, job.attempts, job.last_error) == (JobStatus.DONE, 1, None)
    assert job.finished_at is not None


async def test_a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(db: Database) -> None:
    async def cause_that_fails() -> None:
        async with db.transaction() as session:
            await enqueue(session, "tests.record", {})
            raise RuntimeError("the cause failed")

    with pytest.raises(RuntimeError):
        await cause_that_fails()
    assert await jobs(db) == []


async def test_a_failing_job_is_retried_with_backoff_until_its_last_attempt(db: Database) -> None:
    async def flaky(_: Database, payload: dict[str, Any]) -> None:
        raise ConnectionError("receiver down")

    await add(db, "tests.flaky", {}, max_attempts=2)
    clock = Clock()
    runner = JobRunner(db, {"tests.flaky": flaky}, clock=clock, rng=random.Random(3))

    assert await runner.run_due() == 1
    (job,) = await jobs(db)
    assert job.status == JobStatus.QUEUED
    assert job.last_error == "ConnectionError: receiver down"
    assert job.run_at == clock.now + retry_delay(1, rng=random.Random(3))
    assert await runner.run_due() == 0  # not due yet

    clock.now = job.run_at
    assert await runner.run_due() == 1
    (job,) = await jobs(db)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    clock.now += timedelta(days=1)
    assert await runner.run_due() == 0


async def test_a_permanent_error_or_a_missing_handler_fails_at_once(db: Database) -> None:
    async def refused(_: Database, payload: dict[str, Any]) -> None:
        raise PermanentError("HTTP 404 from the Slack URL")

    await add(db, "tests.refused", {})
    await add(db, "tests.nobody", {})
    await JobRunner(db, {"tests.refused": refused}).run_due()

    first, second = await jobs(db)
    assert (first.status, first.last_error) == (
        JobStatus.FAILED,
        "PermanentError: HTTP 404 from the Slack URL",
    )
    assert (second.status, second.last_error) == (JobStatus.FAILED, "no handler for job 'tests.nobody'")


async def test_a_job_whose_worker_died_is_claimed_again_when_its_lease_ends(db: Database) -> None:
    runs: list[int] = []

    async def record(_: Database, payload: dict[str, Any]) -> None:
        runs.append(1)

    await add(db, "tests.record", {})
    clock = Clock()
    async with db.transaction() as session:  # a worker claimed it, then died
        job = await session.scalar(select(Job))
        assert job is not None
        job.status, job.attempts, job.locked_until = JobStatus.RUNNING, 1, clock.now + timedelta(minutes=5)
    runner = JobRunner(db, {"tests.record": record}, clock=clock)

    assert await runner.run_due() == 0
    clock.now += timedelta(minutes=6)
    assert await runner.run_due() == 1
    assert runs == [1]
    (job,) = await jobs(db)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)


async def test_runners_side_by_side_run_each_job_once(db: Database, database_url: str) -> None:
    runs: list[int] = []

    async def record(_: Database, payload: dict[str, Any]) -> None:
        runs.append(int(payload["n"]))
        await asyncio.sleep(0)

    async with db.transaction() as session:
        for n in range(40):
            await enqueue(session, "tests.record", {"n": n})
    engines = [Database(make_engine(database_url)) for _ in range(3)]
    runners = [JobRunner(e, {"tests.record": record}, batch=4) for e in engines]

    async def drain(runner: JobRunner) -> None:
        while await runner.run_due():
            pass

    try:
        await asyncio.gather(*(drain(r) for r in runners))
    finally:
        for e in engines:
            await e.dispose()
    assert sorted(runs) == list(range(40))
    assert {(j.status, j.attempts) for j in await jobs(db)} == {(JobStatus.DONE, 1)}
