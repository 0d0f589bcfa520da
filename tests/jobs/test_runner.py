"""The worker loop shares its event loop: a pass that never waits still lets the loop's other work run."""

from __future__ import annotations

import asyncio

from app.jobs.runner import Pass, Worker

LIMIT = 2000


async def test_a_pass_whose_statements_never_wait_still_lets_the_loops_other_work_run() -> None:
    """The in-process worker's SQLite statements run on its loop's thread (``app.db.inline``), so a
    processing pass with a backlog never waits for anything; the alert sender shares that loop and
    must still get to its network I/O between batches."""
    batches = 0
    other_ran_after: int | None = None

    async def backlog() -> int:  # always more to do, and nothing to wait for
        nonlocal batches
        batches += 1
        if batches >= LIMIT:
            worker.stop()
        return 1

    async def other_work() -> None:
        nonlocal other_ran_after
        await asyncio.sleep(0)
        other_ran_after = batches

    worker = Worker([Pass("webhooks.process", backlog)])
    other = asyncio.create_task(other_work())
    await worker.run()
    await other
    assert other_ran_after is not None
    assert other_ran_after < 5
