"""What every ``wabawatch`` command shares: its error, secrets from standard input, and the
database opened for one command (with the org it names)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from app.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.db.engine import Database
    from app.tenancy.models import Organization


class CommandError(Exception):
    """Printed to stderr as is; the command exits with status 1."""


def read_secret(prompt: str) -> str:
    """A secret from standard input: a hidden prompt on a terminal, the first line of a pipe otherwise."""
    value = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise CommandError(f"{prompt.rstrip(': ')} is required on standard input")
    return value


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coro)


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The database for the length of one command, disposed of however the command ends."""
    from app.db.engine import open_database

    db = open_database(settings)
    try:
        yield db
    finally:
        await db.dispose()


async def org_named(session: AsyncSession, slug: str) -> Organization:
    """The org a command's ``--org`` names, or the command fails saying so."""
    from app.tenancy import queries as tenancy_queries

    org = await tenancy_queries.org_by_slug(session, slug)
    if org is None:
        raise CommandError(f"no organization with the URL name {slug!r}")
    return org
