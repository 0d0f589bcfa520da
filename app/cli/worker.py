"""``wabawatch worker``: the Procfile's worker process (stops on SIGTERM or SIGINT)."""

from __future__ import annotations

import argparse

from app.cli.base import database, run_async
from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser("worker", help="process stored webhooks (stops on SIGTERM/SIGINT)")
    worker.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    return run_async(worker_command(settings))


async def worker_command(settings: Settings) -> int:
    from app.web.logs import configure_logging
    from app.worker import run_worker

    configure_logging(settings.log_format)  # JSON lines, like the web process's
    async with database(settings) as db:
        await run_worker(db, settings)
    return 0
