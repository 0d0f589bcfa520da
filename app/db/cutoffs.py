"""A where-clause for rows that each org keeps for its own period: every row is compared with its
org's cutoff time. Retention's purges read through it, in the queries module of each table's owner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, or_


def older_than_cutoff(
    org_column: SQLColumnExpression[Any],
    time_column: SQLColumnExpression[datetime],
    *,
    custom: dict[int, datetime],
    default: datetime,
) -> ColumnElement[bool]:
    """Rows older than their org's cutoff: ``custom`` per org id, ``default`` for the other orgs and
    for rows of no org."""
    parts = [and_(org_column == org_id, time_column < cutoff) for org_id, cutoff in custom.items()]
    others = or_(org_column.is_(None), org_column.not_in(list(custom))) if custom else _true()
    parts.append(and_(others, time_column < default))
    return or_(*parts)


def _true() -> ColumnElement[bool]:
    return ~false()
