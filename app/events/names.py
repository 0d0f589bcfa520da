"""The names of the org's WABAs, for every row, page and export that shows an event: an event
keeps Meta's WABA id, and its name is whatever the org calls the WABA today.

The WABA table belongs to ``wabas``, which sits above ``events`` (its pages list events), so
``events`` cannot read it. The composition root hands the reader over instead (``app.main`` sets
``app.state.waba_names`` to ``app.wabas.queries.waba_names``), like the after-commit hooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from app.lib import words


class WabaNames(Protocol):
    def __call__(self, session: AsyncSession, *, org_id: int) -> Awaitable[dict[str, str]]: ...


def waba_names(conn: HTTPConnection) -> WabaNames:
    """The reader of WABA id -> name for one org (one query, whatever the number of rows)."""
    found: WabaNames = conn.app.state.waba_names
    return found


def waba_label(names: Mapping[str, str], waba_id: str | None) -> str:
    """ "Lucky Shrub (102290129340398)", "WABA 102290129340398" when it has no name, "no WABA" for
    an event that names none."""
    return words.waba_label(names.get(waba_id) if waba_id else None, waba_id)
