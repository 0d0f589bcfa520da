"""account events: indexes for the timeline's default view and the overview's open counts

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-03

The timeline shows account events by default (every field but the message family), and the
overview counts only open account events.

- ``ix_events_org_account_occurred`` (org_id, occurred_at, id), partial on account fields: the
  default page is a walk of this index however many message statuses the org receives (without it
  the walk reads past every status to find 50 account events).
- ``ix_events_org_open`` gains ``field``, so the overview's count of open account events per WABA
  and severity is still answered from the index alone.

The partial index's condition is the same SQL text as the queries' (``app.events.catalog``),
with literal values, so both databases see that it applies. On PostgreSQL the indexes are built
CONCURRENTLY, so a large events table keeps taking writes. Only indexes change: no data moves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "severity >= 1 AND acknowledged_at IS NULL"
_ACCOUNT = "field NOT IN ('history', 'messages', 'smb_app_state_sync', 'smb_message_echoes')"
_OPEN_BEFORE = ["org_id", "waba_id", "severity", "acknowledged_at"]
_OPEN_AFTER = [*_OPEN_BEFORE, "field"]


def _build(*, open_columns: list[str], account: bool, concurrently: bool) -> None:
    op.drop_index("ix_events_org_open", table_name="events", postgresql_concurrently=concurrently)
    op.create_index(
        "ix_events_org_open",
        "events",
        open_columns,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
        postgresql_concurrently=concurrently,
    )
    if account:
        op.create_index(
            "ix_events_org_account_occurred",
            "events",
            ["org_id", "occurred_at", "id"],
            postgresql_where=sa.text(_ACCOUNT),
            sqlite_where=sa.text(_ACCOUNT),
            postgresql_concurrently=concurrently,
        )
    else:
        op.drop_index(
            "ix_events_org_account_occurred", table_name="events", postgresql_concurrently=concurrently
        )


def _analyze_sqlite(*indexes: str) -> None:
    """With planner statistics for the old indexes and none for a new one, SQLite's planner would
    guess the new one very selective; give it its own."""
    bind = op.get_bind()
    has_stats = bind.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    ).first()
    if has_stats:
        for name in indexes:
            op.execute(f'ANALYZE "{name}"')


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            _build(open_columns=_OPEN_AFTER, account=True, concurrently=True)
        return
    _build(open_columns=_OPEN_AFTER, account=True, concurrently=False)
    _analyze_sqlite("ix_events_org_open", "ix_events_org_account_occurred")


def downgrade() -> None:
    _build(open_columns=_OPEN_BEFORE, account=False, concurrently=False)
