"""The org's WABAs and numbers, named, for the timeline's pickers.

WABAs and phone numbers belong to ``app.wabas``, which sits above this package; ``app.main`` hands
the timeline its reader (``app.wabas.choices.org_choices``) on ``app.state``, as it does the
after-commit hooks, so that the picker shows names without this package importing ``wabas``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection


@dataclass(frozen=True)
class Choice:
    value: str  # what goes in the query string
    label: str  # what a person reads


@dataclass(frozen=True)
class OrgChoices:
    wabas: tuple[Choice, ...] = ()
    phones: tuple[Choice, ...] = ()


OrgDirectory = Callable[[AsyncSession, int], Awaitable[OrgChoices]]


async def _nothing(session: AsyncSession, org_id: int) -> OrgChoices:
    return OrgChoices()


def org_directory(conn: HTTPConnection) -> OrgDirectory:
    """The reader ``app.main`` set (empty pickers when an app was built without one)."""
    found: OrgDirectory = getattr(conn.app.state, "org_directory", _nothing)
    return found
