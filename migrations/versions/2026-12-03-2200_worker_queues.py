"""worker queues: partial indexes over waiting deliveries and changes, account changes first

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

The worker takes the oldest pending delivery and the oldest waiting change, many times a second.
The old indexes on (status, next_attempt_at) made both planners read every waiting row and sort
them for each batch, so a batch cost more the larger the backlog it was meant to drain; and with
planner statistics SQLite walked the whole table past every processed row instead.

- ``ix_webhook_deliveries_pending`` (id), partial on pending deliveries: the split's queue.
- ``ix_webhook_changes_waiting_account`` and ``ix_webhook_changes_waiting_messages`` (id), partial on
  waiting changes (pending or failed) of account fields and of the message family: the worker takes
  account changes first, so a quality downgrade is not queued behind thousands of delivery receipts.
- ``ix_webhook_changes_pending`` (id), partial on pending changes: the backlog's size and age for
  /metrics and /readyz.
- ``ix_webhook_changes_unrouted`` (app_pk, waba_id), partial on unrouted changes: routing them once
  their WABA is registered, and the WABAs offered to connect.
- The two (status, next_attempt_at) indexes go: nothing else reads by status alone.

The conditions are the same SQL text as the queries' (``app.webhooks.models``), with literal
values, so both databases see that the indexes apply. On PostgreSQL they are built CONCURRENTLY.
Only indexes change: no data moves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MESSAGE_FIELDS = "('history', 'messages', 'smb_app_state_sync', 'smb_message_echoes')"
_WAITING = "status IN ('pending', 'failed')"
_NEW = [
    ("ix_webhook_deliveries_pending", "webhook_deliveries", ["id"], "status = 'pending'"),
    (
        "ix_webhook_changes_waiting_account",
        "webhook_changes",
        ["id"],
        f"{_WAITING} AND field NOT IN {_MESSAGE_FIELDS}",
    ),
    (
        "ix_webhook_changes_waiting_messages",
        "webhook_changes",
        ["id"],
        f"{_WAITING} AND field IN {_MESSAGE_FIELDS}",
    ),
    ("ix_webhook_changes_pending", "webhook_changes", ["id"], "status = 'pending'"),
    ("ix_webhook_changes_unrouted", "webhook_changes", ["app_pk", "waba_id"], "status = 'unrouted'"),
]
_OLD = [
    ("ix_webhook_deliveries_status_next", "webhook_deliveries"),
    ("ix_webhook_changes_status_next", "webhook_changes"),
]


def _create_new(*, concurrently: bool) -> None:
    for name, table, columns, where in _NEW:
        op.create_index(
            name,
            table,
            columns,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
            postgresql_concurrently=concurrently,
        )


def _drop_old(*, concurrently: bool) -> None:
    for name, table in _OLD:
        op.drop_index(name, table_name=table, postgresql_concurrently=concurrently)


def _analyze_sqlite() -> None:
    """With planner statistics for the old indexes and none for a new one, SQLite's planner would
    guess the new one very selective; give it its own."""
    bind = op.get_bind()
    has_stats = bind.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    ).first()
    if has_stats:
        for name, _, _, _ in _NEW:
            op.execute(f'ANALYZE "{name}"')


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            _create_new(concurrently=True)
            _drop_old(concurrently=True)
        return
    _create_new(concurrently=False)
    _drop_old(concurrently=False)
    _analyze_sqlite()


def downgrade() -> None:
    for name, table, _, _ in _NEW:
        op.drop_index(name, table_name=table)
    op.create_index("ix_webhook_deliveries_status_next", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_changes_status_next", "webhook_changes", ["status", "next_attempt_at"])
