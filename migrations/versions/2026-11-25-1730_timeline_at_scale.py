"""timeline at scale: indexes for a million events

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

- ``ix_events_org_id`` (org_id, id): the org's newest event id, which every timeline and overview
  page reads to start its live stream, was an aggregate over all of the org's rows; this makes it
  one index probe.
- ``ix_events_org_open`` gains ``severity`` and ``acknowledged_at`` (always NULL in this partial
  index, but SQLite only answers from an index alone when it holds every column the query names):
  the overview counts open events per WABA *and* severity, which the index now answers alone (an
  index-only scan) instead of visiting every open row in the table.

On PostgreSQL the indexes are built CONCURRENTLY, so a large events table keeps taking writes.
On SQLite, when the database has planner statistics (someone ran ANALYZE), the new indexes get
theirs too: with statistics for the old indexes and none for a new one, SQLite's planner guesses
the new one is very selective and would sort a whole org's events with it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "severity >= 1 AND acknowledged_at IS NULL"
_OPEN_COLUMNS = ["org_id", "waba_id", "severity", "acknowledged_at"]


def _open_index(columns: list[str], *, concurrently: bool) -> None:
    op.create_index(
        "ix_events_org_open",
        "events",
        columns,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
        postgresql_concurrently=concurrently,
    )


def _analyze_sqlite(*indexes: str) -> None:
    bind = op.get_bind()
    has_stats = bind.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    ).first()
    if has_stats:
        for name in indexes:
            op.execute(f'ANALYZE "{name}"')


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # CONCURRENTLY (outside a transaction): a big events table keeps taking writes meanwhile.
        with op.get_context().autocommit_block():
            op.create_index("ix_events_org_id", "events", ["org_id", "id"], postgresql_concurrently=True)
            op.drop_index("ix_events_org_open", table_name="events", postgresql_concurrently=True)
            _open_index(_OPEN_COLUMNS, concurrently=True)
        return
    op.create_index("ix_events_org_id", "events", ["org_id", "id"])
    op.drop_index("ix_events_org_open", table_name="events")
    _open_index(_OPEN_COLUMNS, concurrently=False)
    _analyze_sqlite("ix_events_org_id", "ix_events_org_open")


def downgrade() -> None:
    op.drop_index("ix_events_org_open", table_name="events")
    _open_index(["org_id", "waba_id"], concurrently=False)
    op.drop_index("ix_events_org_id", table_name="events")
